import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tryLock } from '../../src/adapters/lock.js';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The overlap lock against the real thing: util-linux `flock` processes (what the
 * bash updater uses on the same path) and separate node processes taking our lock.
 */
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const LOCK_MODULE = pathToFileURL(path.join(PROJECT_ROOT, 'dist', 'adapters', 'lock.js')).href;

/** The bash updater's lock (`exec 9>file; flock -n 9`, util-linux flock), held until killed. */
async function bashHolder(file: string): Promise<ChildProcess> {
  const script = 'exec 9>"$1"; flock -n 9 || exit 1; echo held; exec sleep 600'; // sleep keeps fd 9, same pid
  const child = spawn('bash', ['-c', script, '_', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock exited ${code} before holding ${file}`)));
  });
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * A node process taking our lock: prints `acquired` (then holds it until its stdin
 * closes) or `locked` (and exits). With `grandchild`, it first starts a long-lived
 * detached process, as an update starting a PM2 daemon does.
 */
function contender(file: string, options: { grandchild?: boolean } = {}) {
  const script = `
    const { spawn } = await import('node:child_process');
    const { tryLock } = await import(${JSON.stringify(LOCK_MODULE)});
    const lock = await tryLock(${JSON.stringify(file)}, process.env);
    if (!lock) { console.log('locked'); process.exit(0); }
    if (${Boolean(options.grandchild)}) {
      const g = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
      g.unref();
      console.log('grandchild ' + g.pid);
    }
    console.log('acquired');
    process.stdin.resume();
    process.stdin.on('end', async () => { await lock.release(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'], env });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const decided = new Promise<string>((resolve) => {
    const check = () => (/^(acquired|locked)$/m.test(out) ? resolve(out) : undefined);
    child.stdout!.on('data', check);
    child.once('exit', () => resolve(out));
  });
  return { child, decided };
}

const lockFile = () => path.join(tempDir('alphacore-lock-'), 'state', 'alphacore.lock');

describe('the overlap lock (flock on a plain file)', () => {
  it('a plain file held by a live flock (the bash updater) is held: undefined, no error', async () => {
    const file = lockFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    const holder = await bashHolder(file);
    try {
      expect(await tryLock(file, env)).toBeUndefined();
    } finally {
      await killed(holder);
    }
    // The bash updater gone, the same file is ours to take; it stays a plain file.
    const lock = await tryLock(file, env);
    expect(lock).toBeDefined();
    expect(fs.statSync(file).isFile()).toBe(true);
    await lock!.release();
  });

  it('an abandoned bash lock file (no holder) does not block', async () => {
    const file = lockFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    spawnSync('bash', ['-c', 'exec 9>"$1"; flock -n 9 && echo ok', '_', file]); // exactly what autoupdate_release.sh does, then exits
    const lock = await tryLock(file, env);
    expect(lock).toBeDefined();
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    await lock!.release();
  });

  it('while we hold it, the bash updater\'s flock -n fails; after release it succeeds', async () => {
    const file = lockFile();
    const lock = await tryLock(file, env);
    expect(lock).toBeDefined();
    const bash = (f: string) => spawnSync('bash', ['-c', 'exec 9>"$1"; flock -n 9', '_', f]).status;
    expect(bash(file)).toBe(1);
    expect(await tryLock(file, env)).toBeUndefined(); // and a second run of ours
    await lock!.release();
    expect(bash(file)).toBe(0);
  });

  it('a run killed with SIGKILL leaves nothing that blocks the next run, even with a child it started still alive', async () => {
    const file = lockFile();
    const first = contender(file, { grandchild: true });
    expect(await first.decided).toMatch(/acquired/);
    const grandchild = Number(/grandchild (\d+)/.exec(await first.decided)![1]);
    try {
      expect(await contender(file).decided).toMatch(/^locked$/m);
      await killed(first.child);
      const next = await tryLock(file, env);
      expect(next).toBeDefined(); // the grandchild (a PM2 daemon, say) did not inherit the lock
      await next!.release();
    } finally {
      process.kill(grandchild, 'SIGKILL');
    }
  });

  it('20 concurrent runs: exactly one acquires', async () => {
    const file = lockFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const runs = Array.from({ length: 20 }, () => contender(file));
    const outcomes = await Promise.all(runs.map((r) => r.decided));
    try {
      expect(outcomes.filter((o) => /^acquired$/m.test(o))).toHaveLength(1);
      expect(outcomes.filter((o) => /^locked$/m.test(o))).toHaveLength(19);
    } finally {
      for (const r of runs) r.child.stdin!.end();
      await Promise.all(runs.map((r) => (r.child.exitCode === null ? new Promise((res) => r.child.once('exit', res)) : undefined)));
    }
  });

  it('a directory lock left by an earlier version of ours: removed when dead, held when its owner lives', async () => {
    const file = lockFile();
    fs.mkdirSync(file, { recursive: true });
    fs.writeFileSync(`${file}.owner-${process.pid}`, '');
    expect(await tryLock(file, env)).toBeUndefined(); // its owner (this process) is alive
    fs.rmSync(`${file}.owner-${process.pid}`);
    fs.writeFileSync(`${file}.owner-${2 ** 22 + 11}`, ''); // a pid that is not running
    const lock = await tryLock(file, env);
    expect(lock).toBeDefined();
    expect(fs.statSync(file).isFile()).toBe(true);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['alphacore.lock']);
    await lock!.release();
  });

  it('something at the lock path that is not a file (a symlink) is an error naming the path and the fix', async () => {
    const file = lockFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.symlinkSync('/etc/passwd', file);
    await expect(tryLock(file, env)).rejects.toThrow(/cannot open the updater lock .*alphacore.lock \(ELOOP\).*AUTOUPDATE_LOCKFILE/);
  });
});

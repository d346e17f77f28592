import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { takeLock } from '../../src/adapters/lock.js';
import { describeHolders, lockHolders, parseProcLocks } from '../../src/adapters/lock-holder.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The overlap lock against another holder (DESIGN.md §5 step 2): a bash-era 0755/0644
 * setup is made private, and a holder is named from /proc/locks. Real util-linux flock.
 */
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // The whole group: `flock FILE cmd` forks cmd, which keeps the lock after flock dies.
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
  }
});

/** `args` holds the lock and prints `held` once it does. */
async function holder(args: string[]): Promise<ChildProcess> {
  const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before holding the lock`)));
  });
  return child;
}

describe('takeLock: a bash-era lock is made private', () => {
  it('a 0755 state dir and a 0644 lock file become 0700 and 0600, on descriptors; the next run changes nothing', async () => {
    const dir = path.join(tempDir('alphacore-locktrust-'), 'state');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'alphacore.lock');
    fs.writeFileSync(file, '', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const first = await takeLock(file, env);
    expect(first.lock).toBeDefined();
    expect(first.tightened).toEqual([`${dir} 0755 -> 0700`, `${file} 0644 -> 0600`]);
    await first.lock!.release();
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = await takeLock(file, env);
    expect(again.tightened).toEqual([]);
    await again.lock!.release();
  });

  it('a dry run (tighten: false) changes no mode; a directory that is not ours (/tmp-like) is left alone', async () => {
    const root = tempDir('alphacore-locktrust-');
    const dir = path.join(root, 'shared');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o1777);
    const file = path.join(dir, 'x.lock');
    const dry = await takeLock(file, env, { tighten: false });
    await dry.lock!.release();
    expect(dry.tightened).toEqual([]);
    expect(fs.statSync(dir).mode & 0o7777).toBe(0o1777);
    if (process.getuid?.() === 0) {
      fs.chownSync(dir, 4999, 4999);
      const other = await takeLock(file, env);
      await other.lock!.release();
      expect(other.tightened).toEqual([]); // the file is ours (created 0600), the directory is not
      expect(fs.statSync(dir).mode & 0o7777).toBe(0o1777);
    }
  });
});

describe('lockHolders: who holds a flock, from /proc/locks', () => {
  it('parses /proc/locks lines (waiters and other kinds apart)', () => {
    const text = '1: FLOCK  ADVISORY  WRITE 29627 fe:00:2146631 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 300 fe:00:2146631 0 EOF\n2: POSIX  ADVISORY  READ 77 08:01:12 0 EOF\n';
    expect(parseProcLocks(text)).toEqual([
      { kind: 'FLOCK', mode: 'WRITE', pid: 29627, major: 0xfe, minor: 0, inode: 2146631 },
      { kind: 'POSIX', mode: 'READ', pid: 77, major: 8, minor: 1, inode: 12 },
    ]);
  });

  it('`flock FILE sleep` is named by its own pid and user; nothing holds a free lock', async () => {
    const file = path.join(tempDir('alphacore-locktrust-'), 'a.lock');
    fs.writeFileSync(file, '');
    expect(lockHolders(file)).toEqual([]);
    const child = await holder(['flock', '--nonblock', file, 'sh', '-c', 'echo held; exec sleep 600']);
    const me = os.userInfo();
    expect(lockHolders(file)).toEqual([{ pid: child.pid, uid: me.uid, user: me.username, alive: true }]);
    expect(describeHolders(lockHolders(file))).toBe(`pid ${child.pid} (user ${me.username})`);
  });

  it('the bash updater (`exec 9>file; flock -n 9`): flock(1) exits, the shell that keeps the descriptor is named', async () => {
    const file = path.join(tempDir('alphacore-locktrust-'), 'b.lock');
    const child = await holder(['bash', '-c', 'exec 9>"$1"; flock -n 9 || exit 1; echo held; exec sleep 600', '_', file]);
    expect(lockHolders(file).map((h) => h.pid)).toEqual([child.pid]);
  });
});

describe('takeLock: the state dir too', () => {
  it('a lock elsewhere (AUTOUPDATE_LOCKFILE) still makes the state dir private', async () => {
    const root = tempDir('alphacore-locktrust-');
    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir);
    fs.chmodSync(stateDir, 0o755);
    const lockDir = path.join(root, 'locks');
    const attempt = await takeLock(path.join(lockDir, 'x.lock'), env, { privateDirs: [stateDir] });
    await attempt.lock!.release();
    expect(attempt.tightened).toContain(`${stateDir} 0755 -> 0700`);
    expect(fs.statSync(stateDir).mode & 0o777).toBe(0o700);
  });
});

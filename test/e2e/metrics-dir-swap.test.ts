import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otherAccount } from '../helpers/other-account.js';
import { tempDir } from '../helpers/tmp.js';
import { updateSetup } from '../helpers/update-setup.js';
import { chownTree, runAs, stage, type StagedRun, type TestUser } from '../helpers/user.js';

/**
 * METRICS_DIR is often node_exporter's shared textfile directory, writable by others
 * (DESIGN.md §5.7). Another account swaps the metrics writer's temp file for a symlink
 * to the validator's GCP key as soon as it appears; the writer must never change (or
 * write) what the link points to: the key stays 0600 and unreadable to that account.
 * strace widens the writer's window (each path-based chmod waits 2 s), so the attack
 * does not depend on winning a race: with a writer that chmods by path it succeeds on
 * every run, with one that sets the mode on its descriptor it cannot.
 */
const staged = stage();
const tools = (() => {
  for (const tool of ['strace', 'inotifywait']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (Debian: ${tool === 'strace' ? 'strace' : 'inotify-tools'})`;
    }
  }
  return undefined;
})();
const skip = staged.skip ?? tools;
if (skip) console.log(`METRICS_DIR swap e2e test skipped: ${skip}`);
const run = staged.ready as StagedRun;
const e2e = skip ? describe.skip : describe;

let mallory: TestUser & { remove(): Promise<void> };
const attackers: ChildProcess[] = [];
beforeAll(async () => {
  if (!skip) mallory = await otherAccount('ac-mallory-met');
});
afterEach(async () => {
  for (const a of attackers.splice(0)) {
    if (a.exitCode !== null || a.signalCode !== null) continue;
    const exited = new Promise((resolve) => a.once('exit', resolve));
    process.kill(-a.pid!, 'SIGKILL'); // the shell, inotifywait and the loop
    await exited;
  }
});
afterAll(async () => {
  await mallory?.remove();
});

e2e('METRICS_DIR shared with other users', () => {
  it('a temp file swapped for a symlink to the GCP key never makes the key readable', async () => {
    const s = await updateSetup({});
    const shared = tempDir('alphacore-textfile-');
    fs.chmodSync(shared, 0o777); // group-writable for node_exporter's group, mallory in it: the same
    fs.appendFileSync(s.configFile, `METRICS_DIR=${shared}\n`);
    const key = path.join(s.root, 'creds.json');
    await chownTree(s.root, run.user);
    fs.chmodSync(key, 0o600);
    fs.chmodSync(s.root, 0o755); // a home others may enter: only the key's own mode protects it

    // mallory: every temp file that appears becomes a symlink to the key.
    const script = `inotifywait -m -e create --format %f "$1" | while read -r f; do case "$f" in *.tmp) ln -sfn "$2" "$1/$f" ;; esac; done`;
    const attacker = spawn('/bin/bash', ['-c', script, '_', shared, key], { uid: mallory.uid, gid: mallory.gid, env: { PATH: '/usr/bin:/bin' }, cwd: '/', detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    attackers.push(attacker);
    await new Promise<void>((resolve, reject) => {
      let said = '';
      attacker.stderr!.on('data', (d: Buffer) => {
        said += d.toString();
        if (said.includes('Watches established')) resolve();
      });
      attacker.once('exit', (code) => reject(new Error(`the attacker's inotifywait exited ${code}: ${said}`)));
    });

    const cli = run.cli;
    const r = await runAs(run.user, 'strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=chmod,fchmodat', '-e', 'inject=chmod,fchmodat:delay_enter=2000000', process.execPath, cli, 'update', '--config', s.configFile, '--json'], {
      env: { ...s.env, USER: run.user.name },
      cwd: s.env.HOME,
      timeoutMs: 120_000,
    });
    expect(r.exitCode, String(r.stdout) + String(r.stderr)).toBe(0);
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    const read = await runAs(mallory, 'cat', [key], { env: { PATH: '/usr/bin:/bin', HOME: '/' }, cwd: '/' });
    expect(read.exitCode).not.toBe(0);
    expect(String(read.stdout)).not.toContain('client_email');
  }, 180_000);
});

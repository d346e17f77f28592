import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/adapters/lock.js';
import { running } from '../../src/adapters/pm2-orphans.js';
import { describeFailure, run } from '../../src/adapters/shell.js';
import { tempDir } from '../helpers/tmp.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' };

describe('run(): the one subprocess runner (real programs)', () => {
  it('captures stdout and stderr, strips one final newline, reports the exit code', async () => {
    const r = await run('sh', ['-c', 'printf "a\\nb\\n"; echo oops >&2; exit 3'], { env, timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 3, stdout: 'a\nb', stderr: 'oops', ok: false, timedOut: false, notFound: false });
    expect(describeFailure(r)).toBe('sh -c printf "a\\nb\\n"; echo oops >&2; exit 3: exit 3: oops');
  });

  it('arguments are words, never shell code; the environment is exactly the one given', async () => {
    const marker = path.join(tempDir('alphacore-shell-'), 'pwned');
    const r = await run('printf', ['%s|', `$(touch ${marker})`, 'two words', '$HOME'], { env: { ...env, ONLY: 'me' }, timeoutMs: 10_000 });
    expect(r.stdout).toBe(`$(touch ${marker})|two words|$HOME|`);
    expect(fs.existsSync(marker)).toBe(false);
    expect((await run('sh', ['-c', 'echo "$ONLY:${HOME:-unset}"'], { env: { ...env, ONLY: 'me' }, timeoutMs: 10_000 })).stdout).toBe('me:unset');
  });

  it('feeds input; a program that ignores its input does not break the caller', async () => {
    expect((await run('cat', [], { env, timeoutMs: 10_000, input: 'line 1\nline 2\n' })).stdout).toBe('line 1\nline 2');
    expect((await run('true', [], { env, timeoutMs: 10_000, input: 'x'.repeat(1 << 20) })).ok).toBe(true);
  });

  it('a missing or non-executable program is notFound, with the reason', async () => {
    const r = await run('alphacore-no-such-program', [], { env, timeoutMs: 10_000 });
    expect(r).toMatchObject({ ok: false, notFound: true, exitCode: undefined });
    expect(describeFailure(r)).toBe('alphacore-no-such-program: program not found or not executable');
    const file = path.join(tempDir('alphacore-shell-'), 'not-exec');
    fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    expect(await run(file, [], { env, timeoutMs: 10_000 })).toMatchObject({ notFound: true, ok: false });
  });

  it('a timeout kills the whole process group; one that left the group does not hold the caller', async () => {
    const dir = tempDir('alphacore-shell-');
    const pids = path.join(dir, 'pids');
    const script = `trap '' TERM; sleep 300 & echo $! >> ${pids}; setsid sleep 300 & echo $! >> ${pids}; wait`;
    const r = await run('bash', ['-c', script], { env, timeoutMs: 500 });
    expect(r).toMatchObject({ timedOut: true, ok: false });
    expect(describeFailure(r)).toContain('timed out after 500ms (its process group was killed)');
    const [inGroup, leftGroup] = fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(isAlive(inGroup!)).toBe(false);
    // The one that left the group is not ours to kill; we only stopped waiting for it.
    expect(isAlive(leftGroup!)).toBe(true);
    process.kill(leftGroup!, 'SIGKILL');
  });

  it('every run is group-killed on timeout: a wrapper script whose grandchild holds the pipe returns, the grandchild is gone', async () => {
    const dir = tempDir('alphacore-shell-');
    const pids = path.join(dir, 'pids');
    const r = await run('bash', ['-c', `sleep 300 & echo $! > ${pids}; wait`], { env, timeoutMs: 2000 });
    expect(r).toMatchObject({ timedOut: true, ok: false });
    const grandchild = Number(fs.readFileSync(pids, 'utf8').trim());
    for (let i = 0; i < 50 && isAlive(grandchild); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isAlive(grandchild)).toBe(false);
  });

  it('a member of the group that ignores SIGTERM is killed when the leader exits on it (it would otherwise outlive the run)', async () => {
    const dir = tempDir('alphacore-shell-');
    const pids = path.join(dir, 'pids');
    // The leader exits on SIGTERM; its child ignores it and holds no pipe of ours (as the
    // repo's `pm2 describe >/dev/null` does), so the leader's exit alone ends the run.
    const script = `bash -c "trap '' TERM; sleep 300" >/dev/null 2>&1 & echo $! > ${pids}; wait`;
    const r = await run('bash', ['-c', script], { env, timeoutMs: 500 });
    expect(r).toMatchObject({ timedOut: true, ok: false });
    const member = Number(fs.readFileSync(pids, 'utf8').trim());
    for (let i = 0; i < 50 && running(member); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(running(member)).toBe(false);
  });

  it('a timeout sends SIGTERM first (a program may clean up), to the whole group', async () => {
    const dir = tempDir('alphacore-shell-');
    const marks = path.join(dir, 'marks');
    // The child and its grandchild each note the SIGTERM they get, then exit.
    const script = `trap 'echo parent >> ${marks}; exit 0' TERM; bash -c "trap 'echo grandchild >> ${marks}; exit 0' TERM; sleep 300 & wait" & sleep 300 & wait`;
    const r = await run('bash', ['-c', script], { env, timeoutMs: 500 });
    expect(r).toMatchObject({ timedOut: true, ok: false });
    expect(fs.readFileSync(marks, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['grandchild', 'parent']);
  });

  it('a program that ignores SIGTERM gets SIGKILL', async () => {
    const r = await run('bash', ['-c', "trap '' TERM; while :; do sleep 0.1; done"], { env, timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, ok: false, exitCode: undefined });
  });
});

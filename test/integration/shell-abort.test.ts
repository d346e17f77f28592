import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/adapters/lock.js';
import { endRunning, isEnding, run } from '../../src/adapters/shell.js';
import { until } from '../helpers/poll.js';
import { tempDir } from '../helpers/tmp.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' };

// endRunning is the end of a process's life (it exits next): its own file, so that no
// other test of run() shares a module that has ended.
describe('endRunning(): a signal ends the run before anything was stopped', () => {
  it('ends every running group (SIGTERM, then SIGKILL for one that ignores it), names them, and run() starts nothing after', async () => {
    const dir = tempDir('alphacore-shell-');
    const pids = path.join(dir, 'pids');
    let settled = false;
    const polite = run('bash', ['-c', `sleep 300 & echo $! >> ${pids}; wait`], { env, timeoutMs: 600_000 }).then(() => (settled = true));
    const stubborn = run('bash', ['-c', `trap '' TERM; sleep 300 & echo $! >> ${pids}; wait`], { env, timeoutMs: 600_000 }).then(() => (settled = true));
    await until(() => fs.existsSync(pids) && fs.readFileSync(pids, 'utf8').trim().split('\n').length === 2, { what: 'both grandchildren started', ms: 10_000, everyMs: 50 });
    const grandchildren = fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    const ended = await endRunning(300);
    expect(ended.map((c) => c.command)).toEqual([expect.stringContaining('bash -c sleep 300'), expect.stringContaining("bash -c trap '' TERM")]);
    const all = [...grandchildren, ...ended.map((c) => c.pid)];
    await until(() => all.every((pid) => !isAlive(pid)), { what: `${all.join(', ')} to end`, ms: 10_000, everyMs: 50 });
    for (const pid of all) expect(isAlive(pid)).toBe(false);
    expect(isEnding()).toBe(true);
    // The killed calls never resolve (nothing may act on a kill as if it were a failure),
    // and a new call starts nothing.
    const marker = path.join(dir, 'started');
    void run('touch', [marker], { env, timeoutMs: 10_000 }).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fs.existsSync(marker)).toBe(false);
    expect(settled).toBe(false);
    void polite;
    void stubborn;
  });
});

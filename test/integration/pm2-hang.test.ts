import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { running } from '../../src/adapters/pm2-orphans.js';
import { pm2HangCheck } from '../../src/adapters/pm2-hang.js';
import { describeFailure, run } from '../../src/adapters/shell.js';
import { tempDir } from '../helpers/tmp.js';

// shell.run's `watch` and the check that ends a `pm2` command whose daemon died under it
// (PM2's CLI then waits forever): real processes, a program named pm2 that never
// answers (a shell script: its argv names pm2, as node's does for the real CLI), a PM2_HOME whose pm2.pid names a live or a dead daemon.
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' };

/** A PM2_HOME, and a bin folder with a `pm2` that waits forever (as the real one does without its daemon). */
function world() {
  const dir = tempDir('alphacore-pm2-hang-');
  const home = path.join(dir, 'pm2');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(home);
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'pm2'), '#!/bin/sh\nsleep 600\n', { mode: 0o755 });
  // A script that runs `pm2` as its child, as the repo's launch_validation_api.sh does.
  const script = path.join(dir, 'launch.sh');
  fs.writeFileSync(script, `#!/bin/sh\necho starting\n${path.join(bin, 'pm2')} start app.js\necho never\n`, { mode: 0o755 });
  return { dir, home, bin, script };
}

describe('a pm2 command whose daemon died under it is ended, not waited for', () => {
  it('no live daemon for the grace period while pm2 runs in the tree: the group is killed and the result says why', async () => {
    const w = world();
    fs.writeFileSync(path.join(w.home, 'pm2.pid'), '999999999');
    const r = await run(w.script, [], { env, timeoutMs: 60_000, watch: { everyMs: 100, check: pm2HangCheck(w.home, Date.now, 1000) } });
    expect(r.ok).toBe(false);
    expect(r.timedOut).toBe(false);
    expect(r.endedBy).toMatch(/^no PM2 daemon has run for 1s while pm2 \(pid \d+\) waited for one: its daemon died under it/);
    expect(r.stdout).toBe('starting');
    expect(describeFailure(r)).toContain('ended: no PM2 daemon has run');
    const pid = Number(/pid (\d+)/.exec(r.endedBy!)![1]);
    expect(running(pid)).toBe(false);
  });

  it('a live daemon: pm2 may take as long as its own limit (the watch says nothing)', async () => {
    const w = world();
    const daemon = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(w.home, 'pm2.pid'), String(daemon.pid));
      const r = await run(w.script, [], { env, timeoutMs: 1500, watch: { everyMs: 100, check: pm2HangCheck(w.home, Date.now, 500) } });
      expect(r.timedOut).toBe(true);
      expect(r.endedBy).toBeUndefined();
    } finally {
      daemon.kill('SIGKILL');
    }
  });

  it('no daemon but no pm2 in the tree (pip, the sandbox setup): never ended by the watch', async () => {
    const w = world();
    const r = await run('sh', ['-c', 'sleep 1; echo done'], { env, timeoutMs: 10_000, watch: { everyMs: 100, check: pm2HangCheck(w.home, Date.now, 300) } });
    expect(r).toMatchObject({ ok: true, stdout: 'done' });
    expect(r.endedBy).toBeUndefined();
  });
});

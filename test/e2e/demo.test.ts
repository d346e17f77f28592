import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { runAs, stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
if (staged.skip) console.log(`demo e2e test skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;

describe('npm run demo', () => {
  it.skipIf(Boolean(staged.skip))('tells the whole story as an ordinary user and cleans up after itself', async () => {
    const home = fs.mkdtempSync('/tmp/alphacore-demo-home-');
    fs.chownSync(home, run.user.uid, run.user.gid);
    try {
      const r = await runAs(run.user, process.execPath, [path.join(run.packageRoot, 'scripts', 'demo.mjs')], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
        cwd: home,
        timeoutMs: 300_000,
      });
      const out = String(r.stdout);
      expect(r.exitCode, out + String(r.stderr)).toBe(0);
      const order = ['1. launch', 'result: deferred', 'round-active', 'result: updated', 'result: rolled-back', 'result: skipped', 'alphacore status', 'Quarantine', 'Cleaned up'];
      let at = 0;
      for (const marker of order) {
        const found = out.indexOf(marker, at);
        expect(found, `"${marker}" after position ${at}`).toBeGreaterThanOrEqual(0);
        at = found;
      }
      // Its validator serves the task-generation API on a free port, never the machine's 8000.
      expect(out).toMatch(/\$ alphacore launch .*--http-port (?!8000 )\d+ /);
      const tmp = /removed \(|is removed/.test(out) ? /alphacore demo in (\S+)/.exec(out)?.[1] : undefined;
      expect(tmp).toBeDefined();
      expect(fs.existsSync(tmp!)).toBe(false);
      // The demo's PM2 daemon is gone: no process of the user mentions its PM2_HOME.
      const ps = await execa('ps', ['-u', run.user.name, '-o', 'args='], { reject: false });
      expect(String(ps.stdout)).not.toContain(tmp!);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 330_000);

  it('as root: runs as a throwaway unprivileged user it creates and removes, and says so', async (t) => {
    if (process.getuid?.() !== 0) {
      console.log('skipped: this check needs root');
      t.skip();
    }
    const r = await execa(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'demo.mjs')], { reject: false, timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } });
    const out = String(r.stdout);
    expect(r.exitCode, out + String(r.stderr)).toBe(0);
    const user = /throwaway unprivileged user, (alphacore-demo-[0-9a-f]+), created now/.exec(out)?.[1];
    expect(user, out.slice(0, 400)).toBeDefined();
    // launch's root refusal is intact: the story ran, as that user.
    for (const marker of ['result: updated', 'result: rolled-back', `PM2 startup  not configured for ${user}`, `Removed the throwaway user ${user}`]) expect(out).toContain(marker);
    const stage = new RegExp(`Removed the throwaway user ${user}, its processes and (\\S+)\\.`).exec(out)?.[1];
    expect(fs.existsSync(stage!)).toBe(false);
    expect((await execa('id', [user!], { reject: false })).exitCode).not.toBe(0);
    // Nothing it started outlives it: every demo process ran from the staged copy.
    const ps = await execa('ps', ['-e', '-o', 'args='], { reject: false });
    expect(String(ps.stdout)).not.toContain(stage!);
  }, 400_000);
});

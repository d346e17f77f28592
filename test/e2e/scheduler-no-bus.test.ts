import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runCliAs, stage, userTempDir } from '../helpers/user.js';
import { holdMachineState } from './scheduler-harness.js';

/**
 * The timer's unit files are installed, but this session cannot reach a systemd user
 * manager (no XDG_RUNTIME_DIR, as after `su -` or `sudo -iu`, and none found in
 * /run/user/<uid>): status and autoupdate status say they cannot tell, never "not
 * active". (With a manager running, the same session finds it: scheduler-systemd.test.ts.)
 */
const staged = stage();
let skip = staged.skip;
let release: (() => Promise<void>) | undefined;

beforeAll(async () => {
  if (skip) return;
  release = await holdMachineState('user-manager'); // none of ours runs meanwhile
  const run = `/run/user/${staged.ready!.user.uid}`;
  for (const socket of ['systemd/private', 'bus']) {
    if (fs.existsSync(path.join(run, socket))) skip = `${run}/${socket} exists (a user manager not started by these tests may run), so the manager would be found`;
  }
}, 900_000);
afterAll(async () => {
  await release?.();
});

function need(ctx: TestContext): void {
  if (skip) {
    console.log(`skipped: ${skip}`);
    ctx.skip();
  }
}

describe('status from a session that cannot reach the user manager', () => {
  it('says it cannot tell from this session, with the fix, instead of "installed but not active"', async (ctx) => {
    need(ctx);
    const run = staged.ready!;
    const root = userTempDir(run.user, 'alphacore-nobus-');
    const env = isolatedEnv(root);
    delete env.XDG_RUNTIME_DIR;
    const ns = 'nobus';
    const units = path.join(env.XDG_CONFIG_HOME, 'systemd', 'user');
    // What enable writes for the namespace (the drop-ins and the enable link); content does not matter here.
    for (const unit of [`alphacore-autoupdate@${ns}.service.d`, `alphacore-autoupdate@${ns}.timer.d`]) {
      fs.mkdirSync(path.join(units, unit), { recursive: true });
      fs.writeFileSync(path.join(units, unit, 'alphacore.conf'), '[Timer]\nOnUnitActiveSec=2m\n');
    }
    const config = path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', `${ns}.env`);
    fs.mkdirSync(path.dirname(config), { recursive: true });
    fs.writeFileSync(config, `PM2_NAMESPACE=${ns}\nNETWORK=test\n`);
    await chownTree(root, run.user);

    const au = await runCliAs(run, ['autoupdate', 'status', '--namespace', ns, '--json'], { env });
    expect(au.json[0]).toMatchObject({ kind: 'unknown', active: false, unit: `alphacore-autoupdate@${ns}.timer`, interval: '2m' });
    expect(au.json[0]!.detail).toContain('cannot be told from this session: this session has no XDG_RUNTIME_DIR');
    expect(au.json[0]!.detail).toContain(`XDG_RUNTIME_DIR=/run/user/${run.user.uid}`);
    const st = await runCliAs(run, ['status', '--namespace', ns, '--json'], { env });
    const advice = (JSON.parse(st.stdout) as { advice: { text: string }[] }).advice.map((a) => a.text).join('\n');
    expect(advice).toContain(`The auto-update timer alphacore-autoupdate@${ns}.timer is installed, but this session cannot reach your systemd user manager to tell whether it runs (this session has no XDG_RUNTIME_DIR`);
    expect(advice).not.toContain('installed but not active');
    const screen = await runCliAs(run, ['status', '--namespace', ns], { env });
    expect(screen.stdout).not.toMatch(/not active/);
  }, 60_000);
});

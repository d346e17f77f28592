import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';
import { holdMachineState } from './scheduler-harness.js';

/**
 * Trial defect 11: launch reports an auto-update interval the scheduler cannot run
 * together with the other bad flags, before anything is written. The built CLI runs as
 * the throwaway user without XDG_RUNTIME_DIR, so `systemctl --user` cannot answer and
 * cron would be the scheduler: 7m (no divisor of 60) is refused. Validation fails
 * before PM2 or the crontab are touched, so neither is needed here.
 */
const staged = stage();
if (staged.skip) console.log(`launch interval e2e tests skipped: ${staged.skip}`);
// No systemd user manager of the throwaway user may run meanwhile: launch would find it (user-bus.ts) and systemd runs 7m.
let releaseManager: (() => Promise<void>) | undefined;
beforeAll(async () => {
  if (!staged.skip) releaseManager = await holdMachineState('user-manager');
}, 900_000);
afterAll(async () => {
  await releaseManager?.();
});
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

async function world() {
  const root = userTempDir(run.user, 'alphacore-launch-interval-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user, behaviour: { version: '3.1.4' } });
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  const env = { ...isolatedEnv(root), ...setup.control.env, PM2_HOME: path.join(root, 'home', '.pm2') };
  delete env.XDG_RUNTIME_DIR;
  createWallet(homeWallets(env.HOME), 'cold', ['hot']);
  await chownTree(root, run.user);
  const files = () => [...fs.readdirSync(env.HOME, { recursive: true }), ...fs.readdirSync(setup.deploy, { recursive: true })].sort();
  const launch = (more: string[], extraEnv: Record<string, string> = {}) =>
    runCliAs(run, ['launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--network', 'test', '--gcp-creds-file', creds, '--disable-llm', ...more], { env: { ...env, ...extraEnv }, cwd: setup.deploy });
  return { files, launch };
}

e2e('launch: the auto-update interval checked with the other flags (trial defect 11)', { timeout: 120_000 }, () => {
  it('--autoupdate-interval 7m with cron and a bad --netuid: both reported at once, exit 2, nothing written', async () => {
    const w = await world();
    const before = w.files();
    for (const extra of [[], ['--dry-run']]) {
      const r = await w.launch(['--netuid', 'abc', '--autoupdate-interval', '7m', ...extra]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain('--netuid abc must be a subnet uid');
      expect(r.stderr).toContain('--autoupdate-interval: cron cannot run every 7m;');
      expect(r.stderr).toContain('Use 6m or 10m instead');
      expect(r.stdout).not.toContain('Would add to your crontab');
    }
    const json = await w.launch(['--netuid', 'abc', '--autoupdate-interval', '7m', '--json']);
    expect(json.exitCode).toBe(2);
    expect(json.json).toHaveLength(1);
    expect((json.json[0]!.error as { problems: string[] }).problems).toEqual([
      expect.stringContaining('--netuid abc'),
      expect.stringContaining('--autoupdate-interval: cron cannot run every 7m;'),
    ]);
    expect(w.files()).toEqual(before);
  });

  it('the interval from ALPHACORE_AUTOUPDATE_INTERVAL is checked the same way and named as such; the default 2m passes', async () => {
    const w = await world();
    const fine = await w.launch(['--netuid', '7', '--dry-run']);
    expect(fine.exitCode, fine.stderr).toBe(0);
    expect(fine.stdout).toContain('*/2 * * * *');
    const fromEnv = await w.launch(['--netuid', '7', '--dry-run'], { ALPHACORE_AUTOUPDATE_INTERVAL: '90s' });
    expect(fromEnv.exitCode).toBe(2);
    expect(fromEnv.stderr).toContain('ALPHACORE_AUTOUPDATE_INTERVAL: cron cannot run every 1m30s; it only expresses minutes that divide 60');
    expect(fromEnv.stderr).toContain('Use 1m or 2m instead');
  });
});

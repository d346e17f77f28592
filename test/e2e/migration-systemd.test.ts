import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { createAlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { chownTree, runAs, runCliAs, stage } from '../helpers/user.js';
import { bashMachine, endProcessesUnder, stop, type BashMachine } from './migration-harness.js';
import { holdMachineState, startUserManager, waitForLine, type UserManager } from './scheduler-harness.js';
import { createWallet } from '../helpers/wallet.js';

/**
 * Migration, systemd path (DESIGN.md §6, §9): the real ensure_autoupdate_timer.sh
 * installed its units under a real systemd user manager for two namespaces (its
 * template bakes the last config into both instances), the real bash updater ran
 * from them, and one bash lock is held. `alphacore launch` for one namespace then
 * replaces the template: each namespace ends with exactly one updater, ours, and
 * the timers' next runs succeed. The validator part uses the generated fixture
 * repo; the bash scripts are the real repository's.
 */
const staged = stage();
let skip: string | undefined = staged.skip ?? realRepoSkip();
let manager: UserManager | undefined;
let machine: BashMachine | undefined;
let pm2: IsolatedPm2 | undefined;
let restoreCrontab: (() => Promise<unknown>) | undefined;

function need(ctx: TestContext): asserts staged is { ready: NonNullable<typeof staged.ready> } {
  if (skip) {
    console.log(`skipped: ${skip}`);
    ctx.skip();
  }
}

const releases: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (skip) return;
  // Shared machine state, one file at a time: this one edits the crontab and runs the user manager.
  releases.push(await holdMachineState('crontab'));
  releases.push(await holdMachineState('user-manager'));
  machine = await bashMachine(staged.ready!, 'migration-systemd');
  // The bash unit runs `bash -lc`: a login shell, whose PATH comes from /etc/profile and
  // ~/.profile. As for an operator with a user-installed node, ~/.profile puts pm2 on it.
  const profile = path.join(machine.home, '.profile');
  fs.writeFileSync(profile, `PATH="${machine.env().PATH}:$PATH"\n`);
  await chownTree(machine.home, staged.ready!.user);
  const started = await startUserManager(staged.ready!.user, { ...machine.xdg, HOME: machine.home });
  if (started.skip) skip = started.skip;
  else manager = started.ready;
}, 900_000);

afterAll(async () => {
  await restoreCrontab?.();
  pm2?.kill(); // before its PM2_HOME goes with the tree
  await manager?.stop();
  // A run the user manager started (the bash updater creating a venv) may still be writing in the tree.
  if (machine) endProcessesUnder(machine.root);
  if (machine) fs.rmSync(machine.root, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  for (const release of releases.reverse()) await release();
}, 30_000);

const BASH = 'scripts/validator/process/autoupdate_release.sh';
const env = (extra: Record<string, string> = {}) => machine!.env({ XDG_RUNTIME_DIR: manager!.runtimeDir, ...extra });
const systemctl = (...args: string[]) => runAs(staged.ready!.user, 'systemctl', ['--user', ...args], { env: env(), timeoutMs: 30_000 });
const unitDir = () => path.join(machine!.xdg.XDG_CONFIG_HOME, 'systemd', 'user');
const unitTexts = () => fs.readdirSync(unitDir(), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'));

describe('migration from the bash scripts: systemd user units', () => {
  it('launch replaces the bash template and instances: one updater per namespace, ours, whose next runs succeed', async (ctx) => {
    need(ctx);
    const m = machine!;
    const { user, packageRoot } = staged.ready;
    const cfgA = await m.bashConfig('mig-a');
    const cfgB = await m.bashConfig('mig-b');
    for (const [ns, cfg] of [['mig-a', cfgA], ['mig-b', cfgB]] as const) {
      const r = await m.ensure(ns, cfg, '3s', { XDG_RUNTIME_DIR: manager!.runtimeDir });
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toContain(`Enabled systemd user timer: alphacore-autoupdate@${ns}.timer`);
    }
    expect(fs.readFileSync(path.join(unitDir(), 'alphacore-autoupdate@.service'), 'utf8')).toContain(`--config ${cfgB}`);
    // An earlier run of the installer without a user session fell back to a crontab line for a.
    const saved = await runAs(user, 'crontab', ['-l'], { env: env(), timeoutMs: 10_000 });
    restoreCrontab = () => execa('crontab', saved.exitCode === 0 ? ['-'] : ['-r'], { // the throwaway user's crontab as it was
      uid: user.uid, gid: user.gid, env: env(), extendEnv: false, reject: false, timeout: 10_000,
      ...(saved.exitCode === 0 ? { input: `${String(saved.stdout)}\n` } : { stdin: 'ignore' as const }),
    });
    const cronA = await m.ensure('mig-a', cfgA, '59m');
    expect(cronA.output).toContain('Installed cron entry');
    const crontab = async () => String((await runAs(user, 'crontab', ['-l'], { env: env(), timeoutMs: 10_000 })).stdout);
    expect(await crontab()).toContain(BASH);
    // The real bash updater runs from its unit (and leaves its lock file behind).
    const bashRun = await systemctl('start', 'alphacore-autoupdate@mig-b.service');
    expect(bashRun.exitCode, String(bashRun.stderr)).toBe(0);
    expect(fs.readFileSync(path.join(m.clone, 'logs/autoupdate/mig-b.log'), 'utf8')).toContain('Already up-to-date');
    expect(fs.statSync(m.lockFile('mig-b')).isFile()).toBe(true);

    // The validator of namespace a, launched by us from the fixture repo, while a bash run holds a's lock.
    const base = path.join(m.root, 'launch');
    const setup = await createAlphaCoreSetup({ root: base, user });
    pm2 = isolatedPm2(base, { packageRoot, owner: user });
    const wallets = path.join(base, 'wallets');
    createWallet(wallets, 'cold', ['hot']);
    await chownTree(base, user);
    const holder = await m.holdLock('mig-a');
    try {
      const launchEnv = { ...env(), ...pm2.env, ...setup.control.env, HEALTH_STABLE: '2s' };
      const launched = await runCliAs(
        staged.ready,
        ['launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', m.creds,
          // No Validation API in this test: the validator (like the real one) needs it unless disabled.
          '--pm2-namespace', 'mig-a', '--disable-llm', '--disable-validation-api', '--autoupdate-interval', '2s', '--wallet-path', wallets],
        { env: launchEnv, cwd: setup.deploy, timeoutMs: 120_000 },
      );
      expect(launched.exitCode, launched.stderr).toBe(0);
      expect(launched.stdout).toContain(`Replaced the bash updater's systemd template alphacore-autoupdate@.service (it ran autoupdate_release.sh --config ${cfgB} for every instance)`);
      expect(launched.stdout).toContain('alphacore-autoupdate@mig-a.timer: now runs alphacore update for namespace mig-a.');
      expect(launched.stdout).toContain(`alphacore-autoupdate@mig-b.timer: now runs alphacore update --config ${cfgB}, the config its bash updater ran`);
      expect(launched.stdout).toContain("Replaced the bash updater's crontab line for namespace mig-a:");
      expect(await crontab()).not.toContain(BASH);

      // No unit runs the bash script any more; both instances run ours, each with its own config.
      expect(unitTexts().filter((t) => t.includes(BASH))).toEqual([]);
      for (const [ns, cfg] of [['mig-a', cfgA], ['mig-b', cfgB]] as const) {
        expect((await systemctl('is-active', `alphacore-autoupdate@${ns}.timer`)).stdout).toBe('active');
        const shown = String((await systemctl('cat', `alphacore-autoupdate@${ns}.service`)).stdout);
        expect(shown).toContain('alphacore.js');
        expect(shown).toContain(`ALPHACORE_AUTOUPDATE_CONFIG=${cfg}`);
      }
      expect(String((await systemctl('cat', 'alphacore-autoupdate@mig-b.service')).stdout)).toContain(`REPO_DIR=${m.clone}`);

      // a's run meets the bash updater's held lock: locked, exit 0, in our log.
      expect(await waitForLine(m.logFile('mig-a'), /\[autoupdate\] result: locked/, 30_000)).not.toContain('unexpected error');
    } finally {
      await stop(holder);
    }
    // The bash run is over: a's next run proceeds; b's runs never minded the abandoned bash lock.
    expect(await waitForLine(m.logFile('mig-a'), /\[autoupdate\] result: up-to-date/, 30_000)).not.toContain('unexpected error');
    expect(await waitForLine(m.logFile('mig-b'), /\[autoupdate\] result: up-to-date/, 30_000)).not.toContain('unexpected error');
    for (const ns of ['mig-a', 'mig-b']) expect((await runCliAs(staged.ready, ['autoupdate', 'disable', '--namespace', ns], { env: env() })).exitCode).toBe(0);

    expect(fs.readdirSync(unitDir()).filter((f) => f.startsWith('alphacore-autoupdate'))).toEqual([]);
  }, 240_000);
});

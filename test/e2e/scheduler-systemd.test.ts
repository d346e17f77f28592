import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { runAs, runCliAs, stage } from '../helpers/user.js';
import { deployFixture, holdMachineState, startUserManager, userEnv, waitForLine, type UserManager } from './scheduler-harness.js';

/**
 * The full timer path in a real systemd user manager (DESIGN.md §9): the CLI,
 * run as the throwaway user, installs the units; the manager fires the real
 * `alphacore update`, whose result line lands in the namespace's log.
 */
const staged = stage();
let skip: string | undefined = staged.skip;
let manager: UserManager | undefined;
let root = '';
let xdg: { XDG_CONFIG_HOME: string; XDG_STATE_HOME: string; XDG_DATA_HOME: string };

function need(ctx: TestContext): asserts staged is { ready: NonNullable<typeof staged.ready> } {
  if (skip) {
    console.log(`skipped: ${skip}`);
    ctx.skip();
  }
}

const releases: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (skip) return;
  releases.push(await holdMachineState('user-manager')); // shared machine state: one file at a time
  const { user } = staged.ready!;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-sched-systemd-'));
  fs.chmodSync(root, 0o755);
  const home = path.join(root, `home 50% "q" it's`); // every path the units carry is hostile
  xdg = { XDG_CONFIG_HOME: path.join(home, 'config'), XDG_STATE_HOME: path.join(home, 'state'), XDG_DATA_HOME: path.join(home, 'data') };
  for (const dir of Object.values(xdg)) fs.mkdirSync(dir, { recursive: true });
  await import('../helpers/user.js').then((m) => m.chownTree(root, user));
  const started = await startUserManager(user, xdg);
  if (started.skip) skip = started.skip;
  else manager = started.ready;
}, 900_000);

afterAll(async () => {
  await manager?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
  for (const release of releases.reverse()) await release();
}, 30_000);

const env = () => userEnv(staged.ready!.user, { ...xdg, XDG_RUNTIME_DIR: manager!.runtimeDir });
const cli = (args: string[]) => runCliAs(staged.ready!, args, { env: env(), timeoutMs: 60_000 });
const systemctl = (...args: string[]) => runAs(staged.ready!.user, 'systemctl', ['--user', ...args], { env: env(), timeoutMs: 15_000 });
const unitDir = () => path.join(xdg.XDG_CONFIG_HOME, 'systemd', 'user');

describe('systemd user timer', () => {
  it('fires the real update on schedule, for two namespaces with their own config and interval', async (ctx) => {
    need(ctx);
    const a = await deployFixture(staged.ready.user, root, xdg, 'sched-a');
    const b = await deployFixture(staged.ready.user, root, xdg, 'sched-b');
    const started = Date.now();
    const first = await cli(['autoupdate', 'enable', '--namespace', 'sched-a', '--interval', '2s']);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('Installed the systemd user timer alphacore-autoupdate@sched-a.timer');
    expect(first.stdout).toContain(`log: ${a.logFile}`);
    expect(first.stdout).toContain(`sudo loginctl enable-linger ${staged.ready.user.name}`);
    expect(first.stdout).toMatch(/next run: \d{4}-\d\d-\d\dT/);
    const second = await cli(['autoupdate', 'enable', '--config', b.configFile, '--interval', '3s', '--json']);
    expect(second.exitCode).toBe(0);
    expect(second.json[0]).toMatchObject({ kind: 'systemd', namespace: 'sched-b', interval: '3s', unit: 'alphacore-autoupdate@sched-b.timer', logFile: b.logFile });
    // The same request again changes nothing (launch and the fleet's site.yml re-run it).
    const again = await cli(['autoupdate', 'enable', '--namespace', 'sched-a', '--interval', '2s']);
    expect(again.stdout).toContain('Kept the systemd user timer alphacore-autoupdate@sched-a.timer');

    const logA = await waitForLine(a.logFile, /\[autoupdate\] result: up-to-date/, 20_000);
    const logB = await waitForLine(b.logFile, /\[autoupdate\] result: up-to-date/, 20_000);
    console.log(`systemd timer: both namespaces ran within ${Date.now() - started} ms`);
    expect(logA).toMatch(/^\[\d{4}-\d\d-\d\dT[^\]]+\] \[autoupdate\] result: up-to-date/m);
    expect(logB).not.toContain(a.repoDir); // b ran with its own config
    // Each instance keeps its own config; the shared template names none.
    const template = fs.readFileSync(path.join(unitDir(), 'alphacore-autoupdate@.service'), 'utf8');
    expect(template).not.toContain('sched-');
    expect(fs.readFileSync(path.join(unitDir(), 'alphacore-autoupdate@sched-b.timer.d', 'alphacore.conf'), 'utf8')).toContain('OnUnitActiveSec=3s\n');
  }, 60_000);

  it('passes systemd-analyze verify --user without a word about the units', async (ctx) => {
    need(ctx);
    await deployFixture(staged.ready.user, root, xdg, 'sched-v');
    expect((await cli(['autoupdate', 'enable', '--namespace', 'sched-v', '--interval', '1h'])).exitCode).toBe(0);
    const verify = await runAs(staged.ready.user, 'systemd-analyze', ['verify', '--user', 'alphacore-autoupdate@sched-v.service', 'alphacore-autoupdate@sched-v.timer'], { env: env(), timeoutMs: 30_000 });
    // verify exits 0 even on errors: its output is what counts.
    const out = `${verify.stdout}${verify.stderr}`;
    expect(out.split('\n').filter((l) => /alphacore|ExecStart|Environment|Timer/i.test(l))).toEqual([]);
    // systemd runs any span: 7m (which cron cannot) is accepted here (trial defect 11).
    const odd = await cli(['autoupdate', 'enable', '--namespace', 'sched-v', '--interval', '7m', '--dry-run']);
    expect(odd.exitCode, odd.stderr).toBe(0);
    expect(odd.stdout).toContain('OnUnitActiveSec=7m');
    expect((await cli(['autoupdate', 'disable', '--namespace', 'sched-v'])).exitCode).toBe(0);
  }, 60_000);

  it('reports status, and disable removes one namespace and nothing else', async (ctx) => {
    need(ctx);
    // Every 2s a run is in progress half the time, and then systemd has no next time yet.
    let status = await cli(['autoupdate', 'status', '--namespace', 'sched-a', '--json']);
    for (let i = 0; i < 5 && status.json[0]?.nextRun === undefined; i++) {
      status = await cli(['autoupdate', 'status', '--namespace', 'sched-a', '--json']);
    }
    expect(status.exitCode).toBe(0);
    expect(status.json[0]).toMatchObject({ namespace: 'sched-a', kind: 'systemd', active: true, interval: '2s', linger: false });
    expect(status.json[0]!.nextRun).toMatch(/^\d{4}-\d\d-\d\dT/);
    const human = await cli(['autoupdate', 'status', '--namespace', 'sched-a']);
    expect(human.stdout).toContain('scheduler: systemd (active): systemd timer alphacore-autoupdate@sched-a.timer is active');
    expect(human.stdout).toContain('linger: off');

    // From `su - <user>` or `sudo -iu <user>` (no XDG_RUNTIME_DIR): the same answer, through /run/user/<uid>.
    const { XDG_RUNTIME_DIR: _, ...bare } = env();
    const asLogin = (args: string[]) => runCliAs(staged.ready!, args, { env: bare, timeoutMs: 60_000 });
    const fromSu = await asLogin(['autoupdate', 'status', '--namespace', 'sched-a', '--json']);
    expect(fromSu.exitCode, fromSu.stderr).toBe(0);
    expect(fromSu.json[0]).toMatchObject({ kind: 'systemd', active: true, unit: 'alphacore-autoupdate@sched-a.timer' });
    const screen = await asLogin(['status', '--namespace', 'sched-a']);
    expect(screen.stdout).toMatch(/^Scheduler +systemd timer alphacore-autoupdate@sched-a\.timer, active/m);
    expect(screen.stdout).not.toContain('not active');

    // A dry run says what it would stop and remove, and leaves all of it (trial defect 2).
    const units = () => fs.readdirSync(unitDir(), { recursive: true }).sort();
    const before = units();
    const dry = await cli(['autoupdate', 'disable', '--namespace', 'sched-a', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('Would stop and disable alphacore-autoupdate@sched-a.timer.');
    expect(dry.stdout).toContain(`Would remove ${path.join(unitDir(), 'alphacore-autoupdate@sched-a.timer.d', 'alphacore.conf')}.`);
    expect(dry.stdout).not.toMatch(/^(Removed|Stopped)/m);
    expect(units()).toEqual(before);
    expect((await systemctl('is-active', 'alphacore-autoupdate@sched-a.timer')).stdout).toBe('active');

    const off = await cli(['autoupdate', 'disable', '--namespace', 'sched-a']);
    expect(off.exitCode).toBe(0);
    expect(off.stdout).toContain('Stopped and disabled alphacore-autoupdate@sched-a.timer.');
    expect((await systemctl('is-active', 'alphacore-autoupdate@sched-a.timer')).stdout).toBe('inactive');
    expect((await systemctl('is-active', 'alphacore-autoupdate@sched-b.timer')).stdout).toBe('active');
    expect(fs.existsSync(path.join(unitDir(), 'alphacore-autoupdate@sched-a.service.d'))).toBe(false);
    expect(fs.existsSync(path.join(unitDir(), 'alphacore-autoupdate@.service'))).toBe(true); // b still uses it
    expect((await cli(['autoupdate', 'status', '--namespace', 'sched-a', '--json'])).json[0]).toMatchObject({ kind: 'none', active: false });

    expect((await cli(['autoupdate', 'disable', '--namespace', 'sched-b'])).exitCode).toBe(0);
    expect(fs.readdirSync(unitDir()).filter((f) => f.startsWith('alphacore-autoupdate'))).toEqual([]);
    const again = await cli(['autoupdate', 'disable', '--namespace', 'sched-b']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing to remove');
  }, 60_000);

  it('--enable-linger without logind says what failed and the exact command', async (ctx) => {
    need(ctx);
    await deployFixture(staged.ready.user, root, xdg, 'sched-l');
    const result = await cli(['autoupdate', 'enable', '--namespace', 'sched-l', '--interval', '1h', '--enable-linger']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`WARNING: loginctl enable-linger failed .*Run: sudo loginctl enable-linger ${staged.ready.user.name}`));
    expect((await cli(['autoupdate', 'disable', '--namespace', 'sched-l'])).exitCode).toBe(0);
  }, 60_000);

  it('--dry-run prints the units and writes nothing', async (ctx) => {
    need(ctx);
    await deployFixture(staged.ready.user, root, xdg, 'sched-d');
    const before = fs.existsSync(unitDir()) ? fs.readdirSync(unitDir()).sort() : [];
    const result = await cli(['autoupdate', 'enable', '--namespace', 'sched-d', '--interval', '5m', '--dry-run']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Would write ${path.join(unitDir(), 'alphacore-autoupdate@sched-d.timer.d', 'alphacore.conf')}:`);
    expect(result.stdout).toContain('    OnUnitActiveSec=5m');
    expect(result.stdout).toContain('    Environment="ALPHACORE_AUTOUPDATE_CONFIG=');
    expect(fs.existsSync(unitDir()) ? fs.readdirSync(unitDir()).sort() : []).toEqual(before);
  });

  it('refuses a bad interval and a missing config at once, and changes nothing', async (ctx) => {
    need(ctx);
    const before = fs.readdirSync(unitDir()).sort();
    const result = await cli(['autoupdate', 'enable', '--namespace', 'sched-x', '--interval', '500ms']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--interval: "500ms" is shorter than 1s');
    expect(result.stderr).toContain('sched-x.env does not exist');
    expect(result.stderr).toContain('alphacore launch');
    expect(fs.readdirSync(unitDir()).sort()).toEqual(before);
  });

  it('launch (without --no-autoupdate) installs the timer, which then runs the update of the launched validator', async (ctx) => {
    need(ctx);
    const { createAlphaCoreSetup } = await import('../helpers/alphacore-fixture.js');
    const { isolatedPm2 } = await import('../helpers/pm2.js');
    const { user, packageRoot } = staged.ready;
    const base = path.join(root, 'launch-100%-fx');
    const setup = await createAlphaCoreSetup({ root: base, user });
    const pm2 = isolatedPm2(base, { packageRoot, owner: user });
    try {
      const creds = path.join(base, 'sa.json');
      fs.writeFileSync(creds, '{"client_email":"v@p.iam.gserviceaccount.com"}\n');
      fs.chownSync(creds, user.uid, user.gid);
      // HOME here is the throwaway user's own: the wallet lives in the fixture, named by --wallet-path.
      const { createWallet } = await import('../helpers/wallet.js');
      const wallets = path.join(base, 'wallets');
      createWallet(wallets, 'cold', ['hot']);
      await import('../helpers/user.js').then((m) => m.chownTree(wallets, user));
      const launchEnv = { ...env(), ...pm2.env, ...setup.control.env, HEALTH_STABLE: '2s' };
      const launched = await runCliAs(
        staged.ready,
        ['launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds,
          // No Validation API in this test: the validator (like the real one) needs it unless disabled.
          '--pm2-namespace', 'launched', '--disable-llm', '--disable-validation-api', '--autoupdate-interval', '2s', '--wallet-path', wallets],
        { env: launchEnv, cwd: setup.deploy, timeoutMs: 90_000 },
      );
      expect(launched.exitCode, launched.stderr).toBe(0);
      expect(launched.stdout).toContain('Installed the systemd user timer alphacore-autoupdate@launched.timer');
      const log = path.join(xdg.XDG_STATE_HOME, 'alphacore', 'autoupdate', 'launched.log');
      expect(await waitForLine(log, /\[autoupdate\] result: up-to-date/, 20_000)).toMatch(/result: up-to-date/);
      // The drop-in carries the PATH and PM2_HOME captured at launch, so pm2 is found.
      const dropIn = fs.readFileSync(path.join(unitDir(), 'alphacore-autoupdate@launched.service.d', 'alphacore.conf'), 'utf8');
      expect(dropIn).toContain(path.join(packageRoot, 'node_modules', '.bin').replaceAll('%', '%%'));
      expect(dropIn).toContain('PM2_HOME=');
      // uninstall: the preview names every file that goes, systemd's stamp of the timer included; nothing is left behind.
      const stamp = path.join(xdg.XDG_DATA_HOME, 'systemd', 'timers', 'stamp-alphacore-autoupdate@launched.timer');
      expect(fs.existsSync(stamp)).toBe(true);
      const gone = await runCliAs(staged.ready, ['uninstall', '--namespace', 'launched', '--yes'], { env: launchEnv, timeoutMs: 60_000 });
      expect(gone.exitCode, gone.stderr).toBe(0);
      expect(gone.stdout).toContain(`    remove ${stamp} (systemd's record of the timer's last run).`);
      expect(gone.stdout).toContain('    stop and disable alphacore-autoupdate@launched.timer.');
      expect(gone.stdout).toContain(`Removed ${stamp}`);
      expect(fs.existsSync(stamp)).toBe(false);
      // Every namespace of this file is gone by now: no empty unit folder stays behind.
      expect(fs.existsSync(unitDir()), fs.existsSync(unitDir()) ? fs.readdirSync(unitDir(), { recursive: true }).join(' ') : '').toBe(false);
      expect(gone.stdout).toContain(`Removed the folders left empty: `);
    } finally {
      pm2.kill();
    }
  }, 120_000);
});

import { execa } from 'execa';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { realRepoSkip } from '../helpers/real-repo.js';
import { runAs, runCliAs, stage } from '../helpers/user.js';
import { bashMachine, endProcessesUnder, stop, type BashMachine } from './migration-harness.js';
import { holdMachineState, startCron, waitForLine, type CronDaemon } from './scheduler-harness.js';

/**
 * Migration, crontab path (DESIGN.md §6): a machine where the real
 * ensure_autoupdate_timer.sh installed its crontab lines (no user manager), with
 * a held and an abandoned bash lock file. `alphacore autoupdate enable` replaces
 * the bash line of its namespace, leaves every other line alone, and the real
 * cron daemon then fires only ours.
 */
const staged = stage();
let skip: string | undefined = staged.skip ?? realRepoSkip();
let cron: CronDaemon | undefined;
let machine: BashMachine | undefined;
let savedCrontab: string | undefined;

const OTHERS = '# the operator\'s own lines\nMAILTO=""\n0 0 1 1 *   /usr/bin/true  "keep  % spacing"\n\n';
const BASH = 'scripts/validator/process/autoupdate_release.sh';

function need(ctx: TestContext): asserts staged is { ready: NonNullable<typeof staged.ready> } {
  if (skip) {
    console.log(`skipped: ${skip}`);
    ctx.skip();
  }
}

const env = () => machine!.env(); // no XDG_RUNTIME_DIR: systemctl --user cannot answer, as under a plain cron setup
async function crontab(input?: string): Promise<string> {
  const { user } = staged.ready!;
  const r = await execa('crontab', input === undefined ? ['-l'] : ['-'], {
    uid: user.uid, gid: user.gid, env: env(), extendEnv: false, reject: false, stripFinalNewline: false, timeout: 10_000,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  if (input !== undefined && r.exitCode !== 0) throw new Error(`crontab - failed: ${r.stderr}`);
  return r.exitCode === 0 ? String(r.stdout) : '';
}
const cli = (args: string[], extra: Record<string, string> = {}) => runCliAs(staged.ready!, args, { env: { ...env(), ...extra }, timeoutMs: 60_000 });

const releases: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (skip) return;
  releases.push(await holdMachineState('crontab')); // shared machine state: one file at a time
  releases.push(await holdMachineState('user-manager')); // none may run: the CLI would find it and pick systemd
  const started = await startCron();
  if (started.skip) {
    skip = started.skip;
    return;
  }
  cron = started.ready;
  machine = await bashMachine(staged.ready!, 'migration-cron');
  const existing = await runAs(staged.ready!.user, 'crontab', ['-l'], { env: env(), timeoutMs: 10_000 });
  savedCrontab = existing.exitCode === 0 ? await crontab() : undefined;
}, 900_000);

afterAll(async () => {
  if (staged.ready && machine) {
    if (savedCrontab === undefined) await runAs(staged.ready.user, 'crontab', ['-r'], { env: env(), timeoutMs: 10_000 });
    else await crontab(savedCrontab);
  }
  await cron?.stop();
  // A run cron started (the bash updater creating a venv) may still be writing in the tree.
  if (machine) endProcessesUnder(machine.root);
  if (machine) fs.rmSync(machine.root, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  for (const release of releases.reverse()) await release();
}, 30_000);

describe('migration from the bash scripts: crontab', () => {
  it('replaces the bash line of each namespace, keeps every other line, and cron then runs only ours', async (ctx) => {
    need(ctx);
    const m = machine!;
    await crontab(OTHERS);
    const cfgC = await m.bashConfig('mig-c');
    const cfgD = await m.bashConfig('mig-d');
    // The real installer, once per namespace. It keeps a single bash line (it drops every
    // line naming the script), so namespace d's line is put back as an operator with two
    // clones would have it. */59: the bash lines must not fire while the test runs.
    const d = await m.ensure('mig-d', cfgD, '59m');
    expect(d.exitCode, d.output).toBe(0);
    expect(d.output).toContain('Installed cron entry');
    const lineD = (await crontab()).split('\n').find((l) => l.includes(BASH))!;
    const c = await m.ensure('mig-c', cfgC, '59m');
    expect(c.exitCode, c.output).toBe(0);
    const lineC = (await crontab()).split('\n').find((l) => l.includes(BASH))!;
    expect(lineC).toBe(`*/59 * * * * cd ${m.clone} && /bin/bash ${m.clone}/${BASH} --config ${cfgC} >> ${m.clone}/logs/autoupdate/mig-c.log 2>&1`);
    await crontab(`${await crontab()}${lineD}\n`);
    expect(await crontab()).toBe(`${OTHERS}${lineC}\n${lineD}\n`);

    // An abandoned bash lock (a finished run of the real updater) for d, a held one for c.
    const bashRun = await m.bashUpdate(cfgD);
    expect(bashRun.exitCode, bashRun.output).toBe(0);
    expect(bashRun.output).toContain('Already up-to-date');
    expect(fs.statSync(m.lockFile('mig-d')).isFile()).toBe(true);
    const seen = await cli(['autoupdate', 'status', '--namespace', 'mig-c']);
    expect(seen.stdout).toContain("WARNING: the bash updater's crontab line (autoupdate_release.sh) still runs for this namespace; replace it with: alphacore autoupdate enable --namespace mig-c");

    const dry = await cli(['autoupdate', 'enable', '--config', cfgC, '--interval', '1m', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`Would replace the bash updater's crontab line for namespace mig-c: ${lineC}`);
    expect(await crontab()).toBe(`${OTHERS}${lineC}\n${lineD}\n`); // a dry run changes nothing

    const holder = await m.holdLock('mig-c');
    try {
      const first = await cli(['autoupdate', 'enable', '--config', cfgC, '--interval', '1m']);
      expect(first.stderr).toBe('');
      expect(first.exitCode).toBe(0);
      expect(first.stdout).toContain(`Replaced the bash updater's crontab line for namespace mig-c: ${lineC}`);
      let tab = await crontab();
      const ours = (ns: string) => tab.split('\n').filter((l) => l.endsWith(` # alphacore-autoupdate:${ns}`));
      expect(ours('mig-c')).toHaveLength(1);
      expect(ours('mig-c')[0]).toContain(`REPO_DIR='${m.clone}'`); // the bash-era config has none: the bash line's clone
      expect(tab).toBe(`${OTHERS}${lineD}\n${ours('mig-c')[0]}\n`); // d's bash line untouched

      // While the bash updater holds c's lock, our run is `locked`, exit 0, and says so in the log.
      const locked = await cli(['update', '--config', cfgC], { REPO_DIR: m.clone });
      expect(locked.stderr).not.toContain('unexpected error');
      expect(locked.exitCode).toBe(0);
      expect(fs.readFileSync(m.logFile('mig-c'), 'utf8')).toMatch(/\[autoupdate\] result: locked/);

      const second = await cli(['autoupdate', 'enable', '--config', cfgD, '--interval', '1m']);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(second.stdout).toContain(`Replaced the bash updater's crontab line for namespace mig-d: ${lineD}`);
      tab = await crontab();
      expect(tab).toBe(`${OTHERS}${ours('mig-c')[0]}\n${ours('mig-d')[0]}\n`); // one updater per namespace, ours
      expect(tab).not.toContain(BASH);
      expect((await cli(['autoupdate', 'status', '--namespace', 'mig-d', '--json'])).json[0]).not.toHaveProperty('bash');
    } finally {
      await stop(holder);
    }

    // The bash run is over: the next timer runs of both namespaces succeed.
    const started = Date.now();
    const logC = await waitForLine(m.logFile('mig-c'), /\[autoupdate\] result: up-to-date/, 80_000);
    const logD = await waitForLine(m.logFile('mig-d'), /\[autoupdate\] result: up-to-date/, 80_000);
    console.log(`cron: both namespaces ran within ${Date.now() - started} ms`);
    expect(logC).not.toContain('unexpected error');
    expect(logD).not.toContain('unexpected error');
    expect(fs.existsSync(`${m.clone}/logs/autoupdate/mig-c.log`)).toBe(false); // the bash line never ran

    for (const ns of ['mig-c', 'mig-d']) expect((await cli(['autoupdate', 'disable', '--namespace', ns])).exitCode).toBe(0);
    expect(await crontab()).toBe(OTHERS);

    // The way back (README): the bash installer again, and the bash updater runs on the lock file ours used.
    const back = await m.ensure('mig-c', cfgC, '59m');
    expect(back.exitCode, back.output).toBe(0);
    expect(await crontab()).toBe(`${OTHERS}${lineC}\n`);
    const bashAgain = await m.bashUpdate(cfgC);
    expect(bashAgain.exitCode, bashAgain.output).toBe(0);
    expect(bashAgain.output).toContain('Already up-to-date');
  }, 200_000);
});

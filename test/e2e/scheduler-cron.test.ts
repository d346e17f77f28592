import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { chownTree, runAs, runCliAs, stage } from '../helpers/user.js';
import { deployFixture, holdMachineState, startCron, userEnv, waitForLine, type CronDaemon } from './scheduler-harness.js';

/**
 * The crontab fallback with the real cron daemon: without a user manager
 * (no XDG_RUNTIME_DIR) the CLI installs a crontab line, cron fires the real
 * `alphacore update`, and every other line of the crontab stays byte for byte.
 */
const staged = stage();
let skip: string | undefined = staged.skip;
let cron: CronDaemon | undefined;
let root = '';
let savedCrontab: string | undefined;
let xdg: { XDG_CONFIG_HOME: string; XDG_STATE_HOME: string };

const OTHERS = '# the operator\'s own lines\nMAILTO=""\n0 0 1 1 *   /usr/bin/true  "keep  % spacing"\n\n';

function need(ctx: TestContext): asserts staged is { ready: NonNullable<typeof staged.ready> } {
  if (skip) {
    console.log(`skipped: ${skip}`);
    ctx.skip();
  }
}

const env = () => userEnv(staged.ready!.user, { ...xdg }); // no XDG_RUNTIME_DIR: systemctl --user cannot answer
const cli = (args: string[]) => runCliAs(staged.ready!, args, { env: env(), timeoutMs: 60_000 });
/** The user's crontab as stored ('' when none), or installs `input` as it. */
async function crontab(input?: string): Promise<string> {
  const { user } = staged.ready!;
  const r = await execa('crontab', input === undefined ? ['-l'] : ['-'], {
    uid: user.uid, gid: user.gid, env: env(), extendEnv: false, reject: false, stripFinalNewline: false, timeout: 10_000,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  if (input !== undefined && r.exitCode !== 0) throw new Error(`crontab - failed: ${r.stderr}`);
  return r.exitCode === 0 ? String(r.stdout) : '';
}

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
  const { user } = staged.ready!;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-sched-cron-'));
  fs.chmodSync(root, 0o755);
  const home = path.join(root, `home 50% "q" it's`);
  xdg = { XDG_CONFIG_HOME: path.join(home, 'config'), XDG_STATE_HOME: path.join(home, 'state') };
  for (const dir of Object.values(xdg)) fs.mkdirSync(dir, { recursive: true });
  await chownTree(root, user);
  const existing = await runAs(user, 'crontab', ['-l'], { env: env(), timeoutMs: 10_000 });
  savedCrontab = existing.exitCode === 0 ? await crontab() : undefined;
}, 900_000);

afterAll(async () => {
  if (staged.ready && !skip) {
    // Give the throwaway user its crontab back as it was.
    if (savedCrontab === undefined) await runAs(staged.ready.user, 'crontab', ['-r'], { env: env(), timeoutMs: 10_000 });
    else await crontab(savedCrontab);
  }
  await cron?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
  for (const release of releases.reverse()) await release();
}, 30_000);

describe('crontab fallback', () => {
  it('installs one line, keeps the others byte for byte, and cron fires the real update', async (ctx) => {
    need(ctx);
    const fx = await deployFixture(staged.ready.user, root, xdg, 'cron-a');
    await crontab(OTHERS);
    const started = Date.now();
    const first = await cli(['autoupdate', 'enable', '--namespace', 'cron-a', '--interval', '1m']);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('Installed the crontab line for namespace cron-a');
    expect(first.stdout).toContain(`log: ${fx.logFile}`);
    const again = await cli(['autoupdate', 'enable', '--namespace', 'cron-a', '--interval', '1m', '--json']);
    expect(again.exitCode).toBe(0);
    expect(again.json[0]).toMatchObject({ kind: 'cron', namespace: 'cron-a', interval: '1m', logFile: fx.logFile });

    const installed = await crontab();
    const ours = installed.split('\n').filter((l) => l.endsWith(' # alphacore-autoupdate:cron-a'));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(/^\*\/1 \* \* \* \* PATH='/);
    expect(installed).toBe(`${OTHERS}${ours[0]}\n`);

    const status = await cli(['autoupdate', 'status', '--namespace', 'cron-a', '--json']);
    expect(status.json[0]).toMatchObject({ kind: 'cron', active: true, interval: '1m', cronLine: ours[0] });

    // cron fires at the next minute boundary: up to a minute, plus the run itself.
    const log = await waitForLine(fx.logFile, /\[autoupdate\] result: up-to-date/, 80_000);
    console.log(`cron: the line fired after ${Date.now() - started} ms`);
    expect(log).toMatch(/^\[\d{4}-\d\d-\d\dT[^\]]+\] \[autoupdate\] result: up-to-date/m);

    const off = await cli(['autoupdate', 'disable', '--namespace', 'cron-a']);
    expect(off.exitCode).toBe(0);
    expect(off.stdout).toContain('Removed the crontab line');
    expect(await crontab()).toBe(OTHERS);
  }, 120_000);

  it('disable --dry-run says what it would remove and changes nothing; disable --interval is refused (trial defect 2)', async (ctx) => {
    need(ctx);
    await deployFixture(staged.ready.user, root, xdg, 'cron-d');
    await crontab(OTHERS);
    expect((await cli(['autoupdate', 'enable', '--namespace', 'cron-d', '--interval', '5m'])).exitCode).toBe(0);
    const installed = await crontab();
    const ours = installed.split('\n').find((l) => l.endsWith(' # alphacore-autoupdate:cron-d'));
    expect(ours).toBeDefined();

    const dry = await cli(['autoupdate', 'disable', '--namespace', 'cron-d', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toBe(`Would remove the crontab line: ${ours}`);
    expect(await crontab()).toBe(installed);
    const dryJson = await cli(['autoupdate', 'disable', '--namespace', 'cron-d', '--dry-run', '--json']);
    expect(dryJson.json[0]).toMatchObject({ kind: 'cron', namespace: 'cron-d', dryRun: true, lines: [`Would remove the crontab line: ${ours}`] });
    expect(await crontab()).toBe(installed);

    const flagged = await cli(['autoupdate', 'disable', '--namespace', 'cron-d', '--interval', '10m']);
    expect(flagged.exitCode).toBe(2);
    expect(flagged.stderr).toContain('--interval only applies to alphacore autoupdate enable');
    expect(flagged.stdout).toBe('');
    expect(await crontab()).toBe(installed);

    const off = await cli(['autoupdate', 'disable', '--namespace', 'cron-d']);
    expect(off.stdout).toBe(`Removed the crontab line: ${ours}`);
    expect(await crontab()).toBe(OTHERS);
  }, 60_000);

  it('refuses an interval cron cannot express, naming the nearest, and leaves the crontab alone', async (ctx) => {
    need(ctx);
    await deployFixture(staged.ready.user, root, xdg, 'cron-b');
    await crontab(OTHERS);
    const result = await cli(['autoupdate', 'enable', '--namespace', 'cron-b', '--interval', '90s']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--interval: cron cannot run every 1m30s');
    expect(result.stderr).toContain('Use 1m or 2m instead');
    expect(await crontab()).toBe(OTHERS);
  }, 30_000);
});

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApi, type FakeApi } from '../helpers/api.js';
import type { CliResult } from '../helpers/cli.js';
import { git } from '../helpers/repo.js';
import { updateSetup, type UpdateSetup } from '../helpers/update-setup.js';

/**
 * `update --dry-run` writes nothing (DESIGN.md §5 step 8): no state, history, log file,
 * metrics file or webhook, in every scenario, and prints the plan. Each world is first
 * brought to a recorded state by a real run (state, log and metrics file exist), then
 * the dry run's effect on the state dir (the overlap lock aside), the METRICS_DIR and
 * a real webhook server is compared before/after.
 */

/** Every file under `dir` with a hash of its content; the overlap lock is the one file a dry run may create. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        out[`${rel}/`] = 'dir';
        walk(full);
      } else if (!entry.name.endsWith('.lock')) {
        out[rel] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
      }
    }
  };
  walk(dir);
  return out;
}

interface World {
  s: UpdateSetup;
  hook: FakeApi;
  metricsDir: string;
  stateDir: string;
}

async function world(config: string[] = []): Promise<World> {
  const hook = await startApi();
  const s = await updateSetup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/hook`, ...config] });
  const metricsDir = path.join(s.root, 'textfile');
  fs.mkdirSync(metricsDir);
  fs.appendFileSync(s.configFile, `METRICS_DIR=${metricsDir}\n`);
  // A real run first: the state, the log and the metrics file exist, as on a machine the timer runs on.
  const primed = await s.run(['--json']);
  expect(primed.result, primed.stdout + primed.stderr).toMatchObject({ outcome: 'up-to-date' });
  expect(fs.readdirSync(metricsDir)).toEqual(['alphacore_alphacore.prom']);
  expect(fs.existsSync(s.logFile)).toBe(true);
  return { s, hook, metricsDir, stateDir: path.dirname(s.stateFile) };
}

/** Runs the dry run and asserts it changed nothing a real run records. */
async function dryRun(w: World, args: string[]): Promise<CliResult> {
  const state = snapshot(w.stateDir);
  const metrics = snapshot(w.metricsDir);
  const requests = w.hook.requests.length;
  const r = await w.s.run(['--dry-run', ...args]);
  expect(snapshot(w.stateDir), 'the state dir').toEqual(state);
  expect(snapshot(w.metricsDir), 'the metrics dir').toEqual(metrics);
  expect(w.hook.requests.slice(requests), 'webhook requests').toEqual([]);
  return r;
}

/** The `{"event":"plan"}` line of a --json run. */
function planOf(r: CliResult): Record<string, any> {
  const line = r.stdout.split('\n').find((l) => l.includes('"event":"plan"'));
  expect(line, r.stdout).toBeDefined();
  return JSON.parse(line!).plan;
}

const writeState = (w: World, state: unknown) => fs.writeFileSync(w.s.stateFile, typeof state === 'string' ? state : JSON.stringify(state));
const readState = (w: World) => JSON.parse(fs.readFileSync(w.s.stateFile, 'utf8')) as Record<string, any>;

describe('update --dry-run writes nothing and prints the plan (built CLI, real git, real HTTP)', { timeout: 120_000 }, () => {
  it('a new release: the swap plan (venvs, stop, reset, setup, starts, health), in words and as JSON', async () => {
    const w = await world();
    const from = git(w.s.deploy, 'rev-parse', 'HEAD');
    const to = w.s.origin.push({ 'src/app.py': 'print("v2")\n', 'modules/requirements.txt': 'requests==2.32.0\n' });
    const r = await dryRun(w, ['--json']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'would-update', from, to });
    const plan = planOf(r);
    expect(plan).toMatchObject({ kind: 'swap', from, to, steps: { stop: { step: 'stop', namespace: 'alphacore' } } });
    expect(plan.steps.venvs).toEqual([
      { step: 'venv', side: 'to', kind: 'validator', commit: to, dir: expect.stringMatching(/venvs\/validator-[0-9a-f]{16}$/), action: 'prepare' },
      { step: 'venv', side: 'to', kind: 'api', commit: to, dir: expect.stringMatching(/venvs\/api-[0-9a-f]{16}$/), action: 'prepare' },
    ]);
    expect(plan.steps.forward.steps.map((s: { step: string }) => s.step)).toEqual(['reset', 'api', 'validator', 'health']);
    expect(plan.steps.forward.steps[0]).toEqual({ step: 'reset', commit: to });
    expect(plan.steps.rollback.steps[0]).toEqual({ step: 'reset', commit: from });
    expect(plan.relaunch).toMatchObject({ walletName: 'wallet', hotkey: 'hotkey', netuid: '66', pm2Namespace: 'alphacore' });
    // Nothing prepared either.
    expect(fs.existsSync(plan.steps.venvs[0].dir)).toBe(false);
    const human = await dryRun(w, []);
    expect(human.stdout).toContain(`plan: update ${from.slice(0, 7)} -> ${to.slice(0, 7)}`);
    expect(human.stdout).toContain(`git reset --hard ${to}`);
    expect(human.stdout).toMatch(/start the Validation API: bash \S+launch_validation_api\.sh --pm2-namespace alphacore/);
    expect(human.stdout).toContain('would update');
  });

  it('--to <sha>: the plan resets to that commit', async () => {
    const w = await world();
    const second = w.s.origin.push({ 'src/app.py': 'v2\n' });
    w.s.origin.push({ 'src/app.py': 'v3\n' });
    const r = await dryRun(w, ['--json', '--to', second]);
    expect(r.result).toMatchObject({ outcome: 'would-update', to: second });
    expect(planOf(r).steps.forward.steps[0]).toEqual({ step: 'reset', commit: second });
  });

  it('a failed fetch: failed, and the webhook is not told (the real run tells it)', async () => {
    const w = await world();
    git(w.s.deploy, 'remote', 'set-url', 'origin', path.join(w.s.root, 'gone.git'));
    const r = await dryRun(w, ['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'fetch-failed' });
    expect(planOf(r)).toMatchObject({ kind: 'done', outcome: 'failed', reason: 'fetch-failed' });
    const real = await w.s.run(['--json']);
    expect(real.result).toMatchObject({ outcome: 'failed', reason: 'fetch-failed' });
    expect(w.hook.requests).toHaveLength(1);
  });

  it('an interrupted update: the recovery plan, nothing recovered', async () => {
    const w = await world();
    const from = git(w.s.deploy, 'rev-parse', 'HEAD');
    const to = w.s.origin.push({ 'src/app.py': 'v2\n' });
    // The target was fetched by the killed run, as it always is before a swap.
    git(w.s.deploy, 'fetch', '--quiet', 'origin');
    const journal = { from, to, phase: 'validator', startedAt: new Date().toISOString(), pid: 999_999 };
    writeState(w, { ...readState(w), journal });
    const r = await dryRun(w, ['--json']);
    expect(r.result).toMatchObject({ outcome: 'would-recover', reason: 'validator', from, to });
    const plan = planOf(r);
    expect(plan).toMatchObject({ kind: 'recover', journal });
    expect(plan.steps.rollback.steps[0]).toEqual({ step: 'reset', commit: from });
    expect(git(w.s.deploy, 'rev-parse', 'HEAD')).toBe(from);
  });

  it('a journal that cannot be acted on, and a corrupt state file: said, not set aside', async () => {
    const w = await world();
    writeState(w, { ...readState(w), journal: 'garbage' });
    let r = await dryRun(w, []);
    expect(r.stdout).toContain('cannot be acted on');
    expect(r.stdout).toContain('a real run sets it aside');
    writeState(w, '{ truncated');
    r = await dryRun(w, []);
    expect(r.stdout).toContain('a real run sets it aside and rebuilds it');
    expect(fs.readdirSync(w.stateDir).filter((f) => f.includes('.corrupt-'))).toEqual([]);
  });

  it('a quarantined target (skipped) and a live round (deferred)', async () => {
    const w = await world();
    const to = w.s.origin.push({ 'src/app.py': 'v2\n' });
    writeState(w, { ...readState(w), quarantine: [{ sha: to, at: new Date().toISOString(), reason: 'validator-unhealthy' }] });
    let r = await dryRun(w, ['--json']);
    expect(r.result).toMatchObject({ outcome: 'skipped', reason: 'quarantined', to });
    expect(planOf(r)).toMatchObject({ kind: 'done', outcome: 'skipped' });
    writeState(w, { ...readState(w), quarantine: [] });
    fs.writeFileSync(w.s.roundLock, JSON.stringify({ round_id: 1, block: 1, ts: Date.now() / 1000, pid: process.pid }));
    r = await dryRun(w, ['--json']);
    expect(r.result).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
    // A real run records the deferral: the state dir does change then.
    const before = snapshot(w.stateDir);
    await w.s.run(['--json']);
    expect(snapshot(w.stateDir)).not.toEqual(before);
    expect(readState(w).deferral).toMatchObject({ since: expect.any(String) });
  });

  it('an invalid config: the error is printed, nothing is recorded', async () => {
    const w = await world();
    fs.appendFileSync(w.s.configFile, 'NETUID=abc\n');
    const r = await dryRun(w, ['--json']);
    expect(r.exitCode).toBe(2);
    expect(r.result).toMatchObject({ outcome: 'invalid-config' });
    expect(r.result!.reason).toMatch(/NETUID=abc/);
  });
});

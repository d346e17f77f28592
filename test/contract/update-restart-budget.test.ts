import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld, until, type ContractWorld } from './contract-world.js';

// The weights warm-up and RESTART_POLICY=coalesce on the real repository (DESIGN.md §14):
// the fake Python prints the validator's real [WEIGHTS] lines into the PM2 out log that
// the repo's pm2.config.js configures (with its date prefix); status, the metrics file
// and the restart-budget gate read them there.
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
const run = staged.ready as StagedRun;

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A real webhook receiver: the texts it was sent. */
async function webhook(): Promise<{ url: string; texts: string[] }> {
  const texts: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      texts.push(String((JSON.parse(body) as { text?: string }).text ?? ''));
      res.end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, texts };
}

type Weights = { state: string; tasksDone?: number; tasksNeeded?: number; lastEmitEpoch?: number; lastEmitAt?: string; startedAt?: string };

async function weights(w: ContractWorld): Promise<Weights> {
  const r = await w.cli(['status', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { weights: Weights }).weights;
}

/** Polls status until the validator's current start has set weights (one task per 1 s epoch, 2 needed). */
const warm = (w: ContractWorld) => until(async () => ((await weights(w)).state === 'emitting' ? true : undefined), 60_000);

/** Every file in `dir` (not below) and a hash of its content; the overlap lock aside. */
function dirHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).filter((n) => !n.endsWith('.lock'))) {
    const full = path.join(dir, name);
    out[name] = fs.statSync(full).isFile() ? crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex') : 'dir';
  }
  return out;
}

const setConfig = (w: ContractWorld, key: string, value: string) => {
  const lines = fs.readFileSync(w.configFile, 'utf8').split('\n').filter((l) => !l.startsWith(`${key}=`));
  fs.writeFileSync(w.configFile, [...lines.filter(Boolean), `${key}=${value}`, ''].join('\n'));
};

describe.skipIf(skip)('contract: the weights warm-up and RESTART_POLICY=coalesce', { timeout: 600_000 }, () => {
  it('status and metrics follow the warm-up; a warm validator holds a release, which goes in each of the four cases', async () => {
    const w = await contractWorld(run);
    const hook = await webhook();
    const metricsDir = path.join(w.env.HOME!, 'textfile');
    fs.mkdirSync(metricsDir);
    fs.chownSync(metricsDir, run.user.uid, run.user.gid);
    // Epochs of 1 s, and no round completes a task until the test says so.
    w.fake.set({ epochMs: 1000, completeTasks: false });
    await w.launched('--weights-min-tasks-before-emit', '2', '--restart-policy', 'coalesce', '--metrics-dir', metricsDir);
    setConfig(w, 'NOTIFY_WEBHOOK_URL', hook.url);
    const log = path.join(w.deploy, 'logs', 'pm2', 'validator-hot-test.out.log');
    // PM2 dates every line (pm2.config.js's log_date_format); the emitter starts once the validator is up.
    const started = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}: .*\[WEIGHTS\] Emitter started \(offset=0, min_tasks=2, poll=0\.1s\)$/m;
    await until(() => (fs.existsSync(log) && started.test(fs.readFileSync(log, 'utf8')) ? true : undefined));

    // Warming up: status says so, in words and in --json.
    const cold = await until(async () => {
      const v = await weights(w);
      return v.state === 'warming-up' && v.tasksNeeded === 2 ? v : undefined;
    });
    expect(cold).toMatchObject({ tasksDone: 0, startedAt: expect.any(String) });
    const screen = await w.cli(['status']);
    expect(screen.stdout).toMatch(/^Weights +warming up since the restart \d+s ago: 0\/2 tasks \(no weights until 2\)$/m);

    // Case 1: still warming up, so a release goes at once (a restart loses nothing yet).
    const first = w.origin.push({ 'docs/warmup-1.md': 'one\n' }, 'release 1');
    const r1 = await w.update();
    expect(r1.result, r1.stdout + r1.stderr).toMatchObject({ outcome: 'updated', to: first });
    expect(r1.stdout).toMatch(/still warming up \(0\/2 tasks\)/);
    const prom = () => fs.readFileSync(path.join(metricsDir, 'alphacore_alphacore.prom'), 'utf8');
    expect(prom()).toContain('alphacore_validator_weights_tasks{namespace="alphacore",kind="needed"} 2');

    // The rounds complete tasks: the validator sets weights; status and the metrics show it.
    w.fake.set({ completeTasks: true });
    await warm(w);
    const emitting = await weights(w);
    expect(emitting).toMatchObject({ state: 'emitting', tasksNeeded: 2, lastEmitEpoch: expect.any(Number), lastEmitAt: expect.any(String) });
    expect((await w.cli(['status'])).stdout).toMatch(/^Weights +emitted for epoch \d+, \d+s ago$/m);

    // Warm, restarted seconds ago: the next release waits, and says until when.
    const second = w.origin.push({ 'docs/warmup-2.md': 'two\n' }, 'release 2');
    // A dry run prints the hold and records nothing: no wait in the state, no webhook, no metrics.
    const stateDir = dirHashes(w.stateDir);
    const metricsBefore = dirHashes(metricsDir);
    const told = hook.texts.length;
    const dry = await w.update(['--dry-run']);
    expect(dry.result, dry.stdout + dry.stderr).toMatchObject({ outcome: 'deferred', reason: 'restart-budget', to: second });
    const plan = dry.stdout.split('\n').find((l) => l.includes('"event":"plan"'));
    expect(JSON.parse(plan ?? '{}').plan, dry.stdout).toMatchObject({ kind: 'done', outcome: 'deferred', reason: 'restart-budget', to: second });
    expect(dirHashes(w.stateDir), 'the state dir').toEqual(stateDir);
    expect(dirHashes(metricsDir), 'the metrics dir').toEqual(metricsBefore);
    expect(hook.texts.slice(told), 'webhook').toEqual([]);
    const held = await w.update();
    expect(held.result, held.stdout + held.stderr).toMatchObject({ outcome: 'deferred', reason: 'restart-budget', to: second });
    expect(held.stdout).toContain(`${second.slice(0, 7)} waits until`);
    expect(w.head()).toBe(first);
    expect(prom()).toMatch(/^alphacore_validator_weights_last_emit_timestamp_seconds\{namespace="alphacore"\} \d+$/m);
    // Told once per release, not every run; status shows the waiting release and why.
    expect((await w.update()).result).toMatchObject({ outcome: 'deferred', reason: 'restart-budget' });
    expect(hook.texts.filter((t) => t.includes('restart-budget') || t.includes('held back'))).toHaveLength(1);
    expect((await w.cli(['status'])).stdout).toMatch(new RegExp(`release ${second.slice(0, 7)} waits \\(RESTART_POLICY=coalesce\\) until .*the validator sets weights`));
    const statusJson = JSON.parse((await w.cli(['status', '--json'])).stdout) as { restartWait?: { sha: string } };
    expect(statusJson.restartWait?.sha).toBe(second);

    // Case 2: --to names the release: it goes now.
    const r2 = await w.update(['--to', second]);
    expect(r2.result, r2.stdout + r2.stderr).toMatchObject({ outcome: 'updated', to: second });

    // Case 3: a release that changes __version__ (the version_key of set_weights) does not wait.
    await warm(w);
    const init = fs.readFileSync(path.join(w.deploy, 'subnet', '__init__.py'), 'utf8');
    const bumped = init.replace(/^__version__ = "([^"]+)"/m, (_m, v: string) => `__version__ = "${v}.1"`);
    expect(bumped).not.toBe(init);
    const third = w.origin.push({ 'subnet/__init__.py': bumped }, 'release 3: version bump');
    const r3 = await w.update();
    expect(r3.result, r3.stdout + r3.stderr).toMatchObject({ outcome: 'updated', to: third });
    expect(r3.stdout).toMatch(/changes __version__ /);

    // Case 4: --force goes now.
    await warm(w);
    const fourth = w.origin.push({ 'docs/warmup-4.md': 'four\n' }, 'release 4');
    expect((await w.update()).result).toMatchObject({ outcome: 'deferred', reason: 'restart-budget', to: fourth });
    const r4 = await w.update(['--force']);
    expect(r4.result, r4.stdout + r4.stderr).toMatchObject({ outcome: 'updated', to: fourth });

    // Case 5: a release that has waited RESTART_MAX_DELAY goes at the next run.
    await warm(w);
    setConfig(w, 'RESTART_MAX_DELAY', '3s');
    const fifth = w.origin.push({ 'docs/warmup-5.md': 'five\n' }, 'release 5');
    expect((await w.update()).result).toMatchObject({ outcome: 'deferred', reason: 'restart-budget', to: fifth });
    await new Promise((r) => setTimeout(r, 3500));
    const r5 = await w.update();
    expect(r5.result, r5.stdout + r5.stderr).toMatchObject({ outcome: 'updated', to: fifth });
    expect(r5.stdout).toMatch(/RESTART_MAX_DELAY=3s/);
  });

  it('RESTART_POLICY=prompt (the default): a warm validator is restarted by every release, as before', async () => {
    const w = await contractWorld(run);
    w.fake.set({ epochMs: 1000 });
    await w.launched('--weights-min-tasks-before-emit', '1');
    await warm(w);
    const to = w.origin.push({ 'docs/prompt.md': 'p\n' }, 'release p');
    const r = await w.update();
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'updated', to });
    expect(r.stdout).not.toMatch(/restart budget/);
  });
});

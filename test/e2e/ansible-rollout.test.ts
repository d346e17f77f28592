import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_PYTHON_COMMIT_FILE } from '../helpers/fake-python.js';
import { ansibleMissing, createFleet, FLEET_TEST_TIMEOUT_MS, type Fleet, type FleetHost } from '../helpers/fleet.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { until } from '../helpers/poll.js';

const staged = stage();
const skip = staged.skip ?? ansibleMissing() ?? realRepoSkip();
if (skip) console.log(`ansible rollout.yml e2e tests skipped: ${skip}`);
const e2e = skip ? describe.skip : describe;

function history(host: FleetHost): { at: string; from: string; to: string; outcome: string; reason: string | null }[] {
  const file = path.join(host.user.home, '.local', 'state', 'alphacore', 'autoupdate', 'alphacore.history.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

/** Hosts in the order the play reported them done with one task (serial batches). */
function taskOrder(stdout: string, task: string): string[] {
  const order: string[] = [];
  let inTask = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('TASK [')) inTask = line.includes(task);
    const m = /^(?:ok|changed|fatal): \[(h\d)\]/.exec(line);
    if (inTask && m) order.push(m[1]!);
  }
  return order;
}

const logFile = (host: FleetHost) => path.join(host.user.home, '.local', 'state', 'alphacore', 'autoupdate', 'alphacore.log');
const logText = (host: FleetHost) => (fs.existsSync(logFile(host)) ? fs.readFileSync(logFile(host), 'utf8') : '');

const pins = (fleet: Fleet) => fleet.hosts.map((h) => fleet.config(h).filter((l) => l.startsWith('PIN=')));

e2e('deploy/ansible rollout.yml: a canary rollout through the real ansible-playbook', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await createFleet(staged.ready as StagedRun);
    const site = await fleet.playbook('site.yml');
    expect(site.exitCode, site.stdout + site.stderr).toBe(0);
  }, FLEET_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await fleet?.cleanup();
  }, 60_000);

  it('refuses a commit that is not on the followed branch before any host is touched', async () => {
    const heads = fleet.hosts.map((h) => fleet.head(h));
    // main's newest commit: real, in every clone, but not (yet) on release.
    const ahead = fleet.origin.latest;
    const r = await fleet.playbook('rollout.yml', ['-e', `sha=${ahead}`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toContain(`--to ${ahead}: commit ${ahead.slice(0, 12)} is not on origin/release`);
    expect(fleet.hosts.map((h) => fleet.head(h))).toEqual(heads);
    expect(pins(fleet)).toEqual([[], [], []]);
    expect(taskOrder(r.stdout, 'alphacore update --to')).toEqual([]);
  }, FLEET_TEST_TIMEOUT_MS);

  it('passes: every host on the new commit, batch after batch (1, 25%, the rest), pins removed at the end', async () => {
    const old = fleet.origin.head();
    // The real repository's next commit (release starts one behind main).
    const sha = fleet.origin.advance();
    const r = await fleet.playbook('rollout.yml', ['-e', `sha=${sha}`]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const host of fleet.hosts) {
      expect(fleet.head(host)).toBe(sha);
      const report = await fleet.status(host);
      expect(report.pm2.processes.filter((p) => p.status === 'online')).toHaveLength(2);
      expect(history(host).at(-1)).toMatchObject({ from: old, to: sha, outcome: 'updated' });
      expect(host.fake.validatorStarts().at(-1)).toMatchObject({ cwd: host.repoDir });
    }
    // Batch order: the canary's update and canary window came before the next host's update.
    expect(taskOrder(r.stdout, 'alphacore update --to')).toEqual(['h1', 'h2', 'h3']);
    expect(taskOrder(r.stdout, 'Healthy on')).toEqual(['h1', 'h2', 'h3']);
    const [a, b, c] = fleet.hosts.map((h) => Date.parse(history(h).at(-1)!.at));
    expect(a).toBeLessThan(b!);
    expect(b).toBeLessThan(c!);
    expect(pins(fleet)).toEqual([[], [], []]);
  }, FLEET_TEST_TIMEOUT_MS);

  it("fails at the canary: its validator crashes, it rolls back by itself, the others stay on the old commit, pinned; the play names it", async () => {
    const good = fleet.origin.head();
    const pidsBefore = fleet.hosts.map((h) => h.pm2.list().find((p) => p.name.startsWith('validator-'))!.pid);
    // A release whose validator crashes at start (the fake runtime reads it from the commit).
    const bad = fleet.origin.pushSettings({ validator: 'crash' });
    const r = await fleet.playbook('rollout.yml', ['-e', `sha=${bad}`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toMatch(/ROLLOUT STOPPED at h1: alphacore update --to [0-9a-f]{40} ended rolled-back \(health-failed\)/);
    expect(r.stdout).toContain('(it rolled back by itself)');
    // The canary: back on the good commit by its own rollback, services online, pinned there.
    const [canary, ...rest] = fleet.hosts;
    expect(fleet.head(canary!)).toBe(good);
    expect(history(canary!).at(-1)).toMatchObject({ from: good, to: bad, outcome: 'rolled-back' });
    expect((await fleet.status(canary!)).pm2.processes.filter((p) => p.status === 'online')).toHaveLength(2);
    // The others: never updated, their validator never restarted.
    rest.forEach((host, i) => {
      expect(fleet.head(host)).toBe(good);
      expect(history(host).at(-1)).toMatchObject({ to: good, outcome: 'updated' });
      expect(host.pm2.list().find((p) => p.name.startsWith('validator-'))).toMatchObject({ status: 'online', pid: pidsBefore[i + 1] });
    });
    expect(taskOrder(r.stdout, 'alphacore update --to')).toEqual(['h1']);
    // Every host stays pinned to the commit it runs, so no timer takes it to the bad one.
    expect(pins(fleet)).toEqual([[`PIN=${good}`], [`PIN=${good}`], [`PIN=${good}`]]);
    for (const host of fleet.hosts) expect((await fleet.status(host)).repo.pin).toBe(good);
  }, FLEET_TEST_TIMEOUT_MS);

  it('fails inside the canary window: the canary came up, then its validator crashed; the play puts it back on its commit', async () => {
    const [canary, ...rest] = fleet.hosts;
    const good = fleet.head(canary!);
    const restHistory = rest.map((h) => history(h).length);
    // release's tip still carries the crashing settings of the last test: drop them.
    const next = fleet.origin.push({ [FAKE_PYTHON_COMMIT_FILE]: null, 'CANARY-NOTE.md': 'a release that fails after it started\n' }, 'test: a later release');
    const before = history(canary!).length;
    const forcedBefore = logText(canary!).split('--force:').length;
    // A 30-unit window (seconds here): room to break the canary after its update passed.
    // A short settle time: this window must run out for the play to act.
    const play = fleet.playbook('rollout.yml', ['-e', `sha=${next}`, '-e', 'canary_minutes=30', '-e', 'alphacore_rollout_settle_seconds=30']);
    await until(() => history(canary!).length > before, { what: "the canary's update", ms: 600_000 });
    expect(history(canary!).at(-1)).toMatchObject({ from: good, to: next, outcome: 'updated' });
    // Inside the window: the validator dies and crashes on every restart PM2 makes.
    canary!.fake.set({ validator: 'crash' });
    process.kill(canary!.pm2.list().find((p) => p.name.startsWith('validator-'))!.pid, 'SIGKILL');
    // Until the play puts the canary back (update --to <its commit> --force).
    await until(() => logText(canary!).split('--force:').length > forcedBefore, { what: 'the play to put the canary back', ms: 600_000 });
    canary!.fake.set({ validator: undefined });
    const r = await play;
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toMatch(/ROLLOUT STOPPED at h1: not healthy on [0-9a-f]{12} for the canary window \(30 s\)/);
    expect(r.stdout).toContain('(put back by the play: ok)');
    expect(fleet.head(canary!)).toBe(good);
    expect(history(canary!).at(-1)).toMatchObject({ from: next, to: good, outcome: 'updated' });
    expect(canary!.pm2.list().find((p) => p.name.startsWith('validator-'))).toMatchObject({ status: 'online' });
    rest.forEach((host, i) => {
      expect(fleet.head(host)).toBe(good);
      expect(history(host)).toHaveLength(restHistory[i]!);
    });
    expect(pins(fleet)).toEqual([[`PIN=${good}`], [`PIN=${good}`], [`PIN=${good}`]]);
  }, FLEET_TEST_TIMEOUT_MS);
});

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

/** The play's failure message (the fail task's msg), on one line. */
function stopMessage(stdout: string): string {
  const m = /"msg": "(ROLLOUT STOPPED[^"]*)"/.exec(stdout);
  return m ? m[1]! : '';
}

const logFile = (host: FleetHost) => path.join(host.user.home, '.local', 'state', 'alphacore', 'autoupdate', 'alphacore.log');
const logText = (host: FleetHost) => (fs.existsSync(logFile(host)) ? fs.readFileSync(logFile(host), 'utf8') : '');

const pins = (fleet: Fleet) => fleet.hosts.map((h) => fleet.config(h).filter((l) => l.startsWith('PIN=')));
const validator = (host: FleetHost) => host.pm2.list().find((p) => p.name.startsWith('validator-'));
const short = (sha: string) => sha.slice(0, 12);

e2e('deploy/ansible rollout.yml: a canary rollout through the real ansible-playbook', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await createFleet(staged.ready as StagedRun);
    const site = await fleet.playbook('site.yml');
    expect(site.exitCode, site.stdout + site.stderr).toBe(0);
  }, FLEET_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await fleet?.cleanup();
  }, 120_000);

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

  it('passes: every host on the new commit, batch after batch (1, 25%, the rest), pins removed at the end; numbers given as -e strings', async () => {
    const old = fleet.origin.head();
    // The real repository's next commit (release starts one behind main).
    const sha = fleet.origin.advance();
    // -e k=v values are strings: every number the role uses is cast.
    const r = await fleet.playbook('rollout.yml', ['-e', `sha=${sha}`, '-e', 'canary_minutes=3', '-e', 'alphacore_rollout_settle_seconds=120', '-e', 'alphacore_rollout_poll_seconds=1', '-e', 'alphacore_rollout_defer_retries=5']);
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

  it('fails at the canary: its validator crashes at start, its own update rolls it back, the others stay on the old commit, pinned; the play names it', async () => {
    const good = fleet.origin.head();
    const pidsBefore = fleet.hosts.map((h) => validator(h)!.pid);
    // A release whose validator crashes at start (the fake runtime reads it from the commit).
    const bad = fleet.origin.pushSettings({ validator: 'crash' });
    const r = await fleet.playbook('rollout.yml', ['-e', `sha=${bad}`]);
    expect(r.exitCode).not.toBe(0);
    const msg = stopMessage(r.stdout);
    expect(msg).toMatch(new RegExp(`^ROLLOUT STOPPED at h1: alphacore update --to ${bad} ended rolled-back \\(health-failed\\)\\. `));
    expect(msg).toContain(`h1: its own update rolled it back to ${short(good)} (the updater's rollback); healthy there: HEAD ${short(good)};`);
    expect(msg).toContain(`Pinned now: h1 at ${short(good)}, h2 at ${short(good)}, h3 at ${short(good)}.`);
    expect(msg).toContain('unpin.yml');
    // The canary: back on the good commit by its own rollback, services online, pinned there.
    const [canary, ...rest] = fleet.hosts;
    expect(fleet.head(canary!)).toBe(good);
    expect(history(canary!).at(-1)).toMatchObject({ from: good, to: bad, outcome: 'rolled-back' });
    expect((await fleet.status(canary!)).pm2.processes.filter((p) => p.status === 'online')).toHaveLength(2);
    // The others: never updated, their validator never restarted.
    rest.forEach((host, i) => {
      expect(fleet.head(host)).toBe(good);
      expect(history(host).at(-1)).toMatchObject({ to: good, outcome: 'updated' });
      expect(validator(host)).toMatchObject({ status: 'online', pid: pidsBefore[i + 1] });
    });
    expect(taskOrder(r.stdout, 'alphacore update --to')).toEqual(['h1']);
    // Every host stays pinned to the commit it runs, so no timer takes it to the bad one.
    expect(pins(fleet)).toEqual([[`PIN=${good}`], [`PIN=${good}`], [`PIN=${good}`]]);
    for (const host of fleet.hosts) {
      const report = await fleet.status(host);
      expect(report.repo.pin).toBe(good);
      // status says the pin is why the branch's (bad) tip is not taken.
      expect(report.repo.heldByPin).toBe(true);
    }
  }, FLEET_TEST_TIMEOUT_MS);

  /**
   * Starts a rollout of a new good release with a 30 s window (strings, as typed), waits
   * until the canary's window is being watched, then breaks the canary with `act`.
   */
  async function breakInsideWindow(act: (canary: FleetHost) => void | Promise<void>, acted?: (canary: FleetHost) => boolean) {
    const [canary] = fleet.hosts;
    const good = fleet.head(canary!);
    // release's tip may carry crashing settings of an earlier test: drop them.
    const next = fleet.origin.push({ [FAKE_PYTHON_COMMIT_FILE]: null, 'CANARY-NOTE.md': `a release that fails after it started ${Date.now()}\n` }, 'test: a later release');
    let windowOpen = false;
    const play = fleet.playbook('rollout.yml', ['-e', `sha=${next}`, '-e', 'canary_minutes=30', '-e', 'alphacore_rollout_settle_seconds=120'], (soFar) => {
      windowOpen ||= soFar.includes('TASK [alphacore_validator : Healthy on');
    });
    await until(() => windowOpen, { what: "the canary's window", ms: 900_000 });
    expect(fleet.head(canary!)).toBe(next);
    await act(canary!);
    if (acted) await until(() => acted(canary!), { what: 'the play to act', ms: 900_000 });
    return { r: await play, good, next };
  }

  function assertPutBack(r: { exitCode: number; stdout: string }, good: string, next: string, restHistory: number[]) {
    const [canary, ...rest] = fleet.hosts;
    expect(r.exitCode).not.toBe(0);
    const msg = stopMessage(r.stdout);
    expect(msg).toContain(`h1: the play put it back on ${short(good)} (update --to ${short(good)} --force); healthy there: HEAD ${short(good)};`);
    expect(msg).toContain(`Pinned now: h1 at ${short(good)}, h2 at ${short(good)}, h3 at ${short(good)}.`);
    expect(fleet.head(canary!)).toBe(good);
    expect(history(canary!).at(-1)).toMatchObject({ from: next, to: good, outcome: 'updated' });
    expect(validator(canary!)).toMatchObject({ status: 'online' });
    rest.forEach((host, i) => {
      expect(fleet.head(host)).toBe(good);
      expect(history(host)).toHaveLength(restHistory[i]!);
    });
    expect(pins(fleet)).toEqual([[`PIN=${good}`], [`PIN=${good}`], [`PIN=${good}`]]);
    return msg;
  }

  it('fails inside the canary window: the canary came up, then its validator was stopped (pm2 stop); the play puts it back on its commit', async () => {
    const restHistory = fleet.hosts.slice(1).map((h) => history(h).length);
    const { r, good, next } = await breakInsideWindow((canary) => {
      canary.pm2.pm2('stop', validator(canary)!.name);
    });
    const msg = assertPutBack(r, good, next, restHistory);
    expect(msg).toMatch(/^ROLLOUT STOPPED at h1: the canary window \(30 s\) saw, \d+ s into it: validator-hot1-test (stopped|stopping|waiting restart) \(PM2 restarts \d+\)\. /);
  }, FLEET_TEST_TIMEOUT_MS);

  it('fails inside the canary window: the canary came up, then its validator crash-loops; the play puts it back on its commit', async () => {
    const restHistory = fleet.hosts.slice(1).map((h) => history(h).length);
    let forcedBefore = 0;
    const { r, good, next } = await breakInsideWindow(
      (canary) => {
        forcedBefore = logText(canary).split('--force').length;
        // The validator dies and crashes on every restart PM2 makes...
        canary.fake.set({ validator: 'crash' });
        process.kill(validator(canary)!.pid, 'SIGKILL');
      },
      // ...until the play puts the canary back (update --to <its commit> --force).
      (canary) => {
        const putBack = logText(canary).split('--force').length > forcedBefore;
        if (putBack) canary.fake.set({ validator: undefined });
        return putBack;
      },
    );
    const msg = assertPutBack(r, good, next, restHistory);
    expect(msg).toMatch(/^ROLLOUT STOPPED at h1: the canary window \(30 s\) saw, \d+ s into it: validator-hot1-test (restarted \(pid \d+ -> \d+, PM2 restarts \d+ -> \d+\)|errored|stopped|launching|waiting restart)/);
  }, FLEET_TEST_TIMEOUT_MS);

  it('unpin.yml releases the pins a stopped rollout left, and says what each host had', async () => {
    const pinned = pins(fleet);
    expect(pinned.every((p) => p.length === 1)).toBe(true);
    const r = await fleet.playbook('unpin.yml');
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const [i, host] of fleet.hosts.entries()) expect(r.stdout).toContain(`${host.name}: PIN=${pinned[i]![0]!.slice(4, 16)} removed; its timer follows release again.`);
    expect(pins(fleet)).toEqual([[], [], []]);
    for (const host of fleet.hosts) expect((await fleet.status(host)).repo.pin).toBeUndefined();
  }, FLEET_TEST_TIMEOUT_MS);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ansibleMissing, createFleet, FLEET_TEST_TIMEOUT_MS, type Fleet } from '../helpers/fleet.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
const skip = staged.skip ?? ansibleMissing() ?? realRepoSkip();
if (skip) console.log(`ansible scale e2e test skipped: ${skip}`);
const e2e = skip ? describe.skip : describe;

const HOSTS = 8;

/** Hosts in the order the play started one task for them (serial batches). */
function batches(stdout: string, task: string): string[][] {
  const out: string[][] = [];
  let inTask = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('TASK [')) {
      inTask = line.includes(task);
      if (inTask) out.push([]);
    }
    const m = /^(?:ok|changed|fatal): \[(h\d+)\]/.exec(line);
    if (inTask && m) out.at(-1)!.push(m[1]!);
  }
  return out.map((b) => b.sort());
}

/**
 * A rollout over eight hosts (one throwaway account each): canary first, then 25%, then the
 * rest. Wall times are printed for the report, never asserted (npm run bench measures).
 */
e2e(`deploy/ansible at scale: ${HOSTS} local hosts`, () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await createFleet(staged.ready as StagedRun, { hosts: HOSTS });
  }, FLEET_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await fleet?.cleanup();
  }, 300_000);

  it('site.yml sets up every host, then rollout.yml takes them all to a new commit: 1, then 2 (25%), then 5', async () => {
    let t = Date.now();
    const site = await fleet.playbook('site.yml', ['--forks', String(HOSTS)]);
    console.log(`scale: site.yml over ${HOSTS} hosts took ${((Date.now() - t) / 1000).toFixed(0)} s (first run: npm installs included)`);
    expect(site.exitCode, site.stdout + site.stderr).toBe(0);

    const sha = fleet.origin.advance();
    t = Date.now();
    const r = await fleet.playbook('rollout.yml', ['--forks', String(HOSTS), '-e', `sha=${sha}`, '-e', 'canary_minutes=3']);
    console.log(`scale: rollout.yml over ${HOSTS} hosts (3 s windows, 3 batches) took ${((Date.now() - t) / 1000).toFixed(0)} s`);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const host of fleet.hosts) {
      expect(fleet.head(host)).toBe(sha);
      expect((await fleet.status(host)).pm2.processes.filter((p) => p.status === 'online')).toHaveLength(2);
    }
    expect(batches(r.stdout, 'alphacore update --to')).toEqual([['h1'], ['h2', 'h3'], ['h4', 'h5', 'h6', 'h7', 'h8']]);
  }, 3 * FLEET_TEST_TIMEOUT_MS);
});

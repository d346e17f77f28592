import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitSettings } from '../helpers/fake-python.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld, type ContractWorld } from './contract-world.js';

// §5.4 on the real repository, Python faked: venvs prepared before the stop, the swap
// and its rollback with PIP_NO_INDEX=1 and no network.
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
if (skip) console.log(`prepare contract tests skipped: ${skip}`);
const run = staged.ready as StagedRun;

const REQS = 'modules/requirements.txt';
const venvRoot = (w: ContractWorld) => path.join(w.env.HOME!, '.local', 'share', 'alphacore', 'venvs');
const pids = (w: ContractWorld) => w.jlist().filter((p) => p.pm2_env.namespace === 'alphacore').map((p) => [p.name, p.pid]).sort();

/** A later commit on release with these files (author clone of the world's origin). */
function release(w: ContractWorld, files: Record<string, string>): string {
  return w.origin.push(files);
}

describe.skipIf(skip)('contract: prepare, then swap (the real scripts, fake Python)', () => {
  it('with PyPI unreachable after the prepare step, an update and its rollback both complete; the services end online at a known commit', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const base = fs.readFileSync(path.join(w.deploy, REQS), 'utf8');
    // First update with the network up: venvs for both sides are prepared and kept.
    const b = release(w, { [REQS]: `${base}fake-extra-package==1.0\n` });
    const first = await w.update();
    expect(first.result, first.stdout + first.stderr).toMatchObject({ outcome: 'updated', to: b });
    const prepared = fs.readdirSync(venvRoot(w)).sort();
    expect(prepared).toEqual([expect.stringMatching(/^api-[0-9a-f]{16}$/), expect.stringMatching(/^api-[0-9a-f]{16}$/), expect.stringMatching(/^validator-[0-9a-f]{16}$/), expect.stringMatching(/^validator-[0-9a-f]{16}$/)]);
    expect(w.jlist().find((p) => p.name === 'validator-hot-test')!.pm2_env.env?.VENV_DIR).toMatch(new RegExp(`${venvRoot(w)}/validator-`));

    // From here PyPI is unreachable. A release with the same requirements that crashes.
    w.fake.networkDown();
    const c = release(w, commitSettings({ validator: 'crash' }));
    const second = await w.update();
    expect(second.result, second.stdout + second.stderr).toMatchObject({ outcome: 'rolled-back', from: b, to: c });
    expect(w.head()).toBe(b);
    expect(w.services()).toEqual([['alphacore-validation-api', 'online'], ['validator-hot-test', 'online']]);
    // Every pip run since the network went down was offline with PIP_NO_INDEX, and none failed.
    const offline = w.fake.pipRuns().filter((p) => p.offline);
    expect(offline.length).toBeGreaterThan(0);
    expect(offline.every((p) => p.noIndex && p.ok)).toBe(true);

    // And a good release with the same requirements updates offline too.
    const d = release(w, { VERSION: '9.9.9\n', ...commitSettings({ validator: 'ok' }) });
    const third = await w.update();
    expect(third.result, third.stdout + third.stderr).toMatchObject({ outcome: 'updated', to: d });
    expect(w.services()).toEqual([['alphacore-validation-api', 'online'], ['validator-hot-test', 'online']]);
    // The history says how long the validator was down, per phase.
    const history = fs.readFileSync(path.join(w.stateDir, 'alphacore.history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.at(-1)).toMatchObject({ outcome: 'updated', downtimeMs: expect.any(Number), phasesMs: expect.objectContaining({ prepare: expect.any(Number), api: expect.any(Number), health: expect.any(Number) }) });
  }, 600_000);

  it('an update whose prepare fails (new requirements, no network) stops nothing', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const before = pids(w);
    const from = w.head();
    w.fake.networkDown();
    release(w, { [REQS]: `${fs.readFileSync(path.join(w.deploy, REQS), 'utf8')}another-fake-package==2.0\n` });
    const r = await w.update();
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'failed', reason: 'prepare' });
    expect(r.stdout).toContain('nothing was stopped');
    expect(w.head()).toBe(from);
    expect(pids(w)).toEqual(before);
    // Nothing half-built is marked complete.
    for (const name of fs.existsSync(venvRoot(w)) ? fs.readdirSync(venvRoot(w)) : []) expect(fs.existsSync(path.join(venvRoot(w), name, '.alphacore-complete'))).toBe(false);
  }, 600_000);
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld } from './contract-world.js';

// §5.6 on the real repository: the Validation API is watched for HEALTH_STABLE like the
// validator. A release whose API answers and then crashes is a failed release: rolled
// back through the repo's scripts and quarantined (only the validator used to be watched,
// and such a release was reported `updated`).
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
if (skip) console.log(`API health contract test skipped: ${skip}`);
const run = staged.ready as StagedRun;

describe.skipIf(skip)('contract: the Validation API is watched for HEALTH_STABLE', { timeout: 300_000 }, () => {
  it('an API that answers, then crashes inside HEALTH_STABLE: rolled back and quarantined; the previous API serves again', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const from = w.head();
    const bad = w.origin.pushSettings({ apiCrashAfterSeconds: 3 });
    // A HEALTH_STABLE longer than the API lives (the environment outranks the config).
    const r = await w.cli(['update', '--config', w.configFile, '--json'], { env: { HEALTH_STABLE: '10s' }, cwd: w.env.HOME });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: 'health-failed', from, to: bad });
    // It did answer first: the validator was started after the API was up.
    expect(r.stdout).toContain(`Validation API up at ${w.apiUrl}`);
    expect(r.stdout).toMatch(/Validation API not healthy: .*alphacore-validation-api/);
    const state = JSON.parse(fs.readFileSync(path.join(w.stateDir, 'alphacore.state.json'), 'utf8')) as { quarantine: { sha: string }[] };
    expect(state.quarantine.map((q) => q.sha)).toEqual([bad]);
    expect(w.head()).toBe(from);
    expect(w.services()).toEqual([['alphacore-validation-api', 'online'], ['validator-hot-test', 'online']]);
    expect((await fetch(`${w.apiUrl}/health`)).status).toBe(200);
  });
});

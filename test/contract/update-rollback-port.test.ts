import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld, until, type ContractWorld } from './contract-world.js';

// Trial defect 19: after `alphacore update` rolled back a release whose validator
// crashes, the validator the rollback started logged `listen EADDRINUSE` for its
// task-generation API (scripts/start_validator.py serves it on ALPHACORE_HTTP_PORT).
// A rolled-back validator must serve that API, not just be `online` in PM2. The API is a
// side process of the validator (as in start_validator.py), so each start must come after
// PM2 stopped the previous validator's whole tree. (In the trial the holder was another
// validator on 8000: test validators on the machine's default port; see docs/launch.md.)
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
const run = staged.ready as StagedRun;

const VALIDATOR = 'validator-hot-test';

describe.skipIf(skip)('contract: the validator a rollback starts serves its task-generation API', { timeout: 300_000 }, () => {
  it('rolled back from a crashing release: the task-generation API listens on the port, no EADDRINUSE', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const bad = w.origin.pushSettings({ validator: 'crash' });
    const r = await w.update();
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'rolled-back', to: bad });

    await expectTaskApiServes(w);
  });

  it('updated to a good release: the new validator serves the port the stopped one (and its side process) held', async () => {
    const w = await contractWorld(run);
    await w.launched();
    await expectTaskApiServes(w);
    const to = w.origin.advance();
    const u = await w.update();
    expect(u.result, u.stdout + u.stderr).toMatchObject({ outcome: 'updated', to });
    await expectTaskApiServes(w);
  });
});

/** The namespace's validator serves the task-generation API: /health answers, its own side process listens, no EADDRINUSE. */
async function expectTaskApiServes(w: ContractWorld): Promise<void> {
  const validator = w.jlist().find((p) => p.name === VALIDATOR)!;
  expect(validator.pm2_env.status).toBe('online');
  const ready = () => fs.existsSync(path.join(w.fake.control, 'taskgen-ready.jsonl'))
    ? fs.readFileSync(path.join(w.fake.control, 'taskgen-ready.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { validatorPid: number; port: number })
    : [];
  // The API answers on the configured port, and it is this validator's.
  const health = await until(() => fetch(`http://127.0.0.1:${w.httpPort}/health`).then((res) => (res.ok ? res.json() : undefined)).catch(() => undefined));
  expect(health).toMatchObject({ service: 'task-generation' });
  expect(ready().filter((x) => x.validatorPid === validator.pid)).toEqual([expect.objectContaining({ port: w.httpPort })]);
  const errorLog = String(validator.pm2_env.pm_err_log_path);
  expect(fs.readFileSync(errorLog, 'utf8')).not.toMatch(/EADDRINUSE/);
}

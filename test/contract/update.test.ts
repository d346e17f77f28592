import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld, until, type JlistEntry } from './contract-world.js';

// `alphacore update` on the real repository (issue 9; DESIGN.md §5, §8, §10): the round
// gate on the file the validator writes, a release deployed through the repo's own
// scripts (API first, then the validator) and rolled back through them.
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
const run = staged.ready as StagedRun;

const VALIDATOR = 'validator-hot-test';
const API = 'alphacore-validation-api';

// Real scripts, pip and PM2 restarts with their 5 s delay: minutes on a loaded machine.
describe.skipIf(skip)('contract: update on the real repository', { timeout: 300_000 }, () => {
  it('the round gate: the validator writes its lock where the config says, and update defers round-active until the round ends', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const lockfile = path.join(w.stateDir, 'alphacore.round.lock');
    w.fake.holdRound({ round_id: 'r-42', block: 4200 });
    const lock = await until(() => (fs.existsSync(lockfile) ? (JSON.parse(fs.readFileSync(lockfile, 'utf8')) as Record<string, unknown>) : undefined));
    const validatorPid = w.jlist().find((p) => p.name === VALIDATOR)!.pid;
    expect(lock).toEqual({ round_id: 'r-42', block: 4200, ts: expect.any(Number), pid: validatorPid });

    const from = w.head();
    const to = w.origin.advance();
    const deferred = await w.update();
    expect(deferred.result, deferred.stdout + deferred.stderr).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
    expect(w.head()).toBe(from);
    expect(w.jlist().find((p) => p.name === VALIDATOR)!.pid).toBe(validatorPid);

    w.fake.releaseRound();
    await until(() => (fs.existsSync(lockfile) ? undefined : true));
    const updated = await w.update();
    expect(updated.result, updated.stdout + updated.stderr).toMatchObject({ outcome: 'updated', from, to });
  });

  it('a release is deployed through launch_validation_api.sh and pm2.config.js: the API first, then the validator', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const apiStartsBefore = w.fake.apiStarts().length;
    const from = w.head();
    const to = w.origin.advance();
    const r = await w.update();
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'updated', from, to });
    expect(w.head()).toBe(to);
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);

    // The API came back through the repo's setup (its venv, its ecosystem file)...
    const api = w.jlist().find((p) => p.name === API)! as JlistEntry;
    expect([api.pm2_env.pm_exec_path, api.pm2_env.restart_delay, api.pm2_env.max_restarts]).toEqual([
      path.join(w.deploy, 'modules/evaluation/validation/sandbox/start_validation_api_pm2.sh'), 5000, 10,
    ]);
    const apiStart = w.fake.apiStarts().at(-1)!;
    expect(w.fake.apiStarts().length).toBe(apiStartsBefore + 1);
    // The prepared API venv serves (DESIGN: the bash-era .venv-validation-api is left unused).
    expect([apiStart.port, apiStart.version]).toEqual([w.apiPort, '0.4.1-rc']);
    expect(apiStart.env.VIRTUAL_ENV).toMatch(/venvs\/api-[0-9a-f]{16}$/);
    // ...before the validator, which runs the new commit through the ecosystem file.
    const validator = w.fake.validatorStarts().at(-1)!;
    expect([validator.entry, validator.version]).toEqual(['scripts/start_validator.py', '0.4.1-rc']);
    expect((validator as unknown as { ts: number }).ts).toBeGreaterThan((apiStart as unknown as { ts: number }).ts);
    expect(validator.env.ALPHACORE_ROUND_LOCKFILE).toBe(path.join(w.stateDir, 'alphacore.round.lock'));
    expect(w.jlist().find((p) => p.name === VALIDATOR)!.pm2_env.pm_out_log_path).toBe(path.join(w.deploy, 'logs/pm2', `${VALIDATOR}.out.log`));
  });

  it('a release whose validator crashes is rolled back through the same scripts; the validator runs the previous commit again', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const from = w.head();
    const bad = w.origin.pushSettings({ validator: 'crash' });
    const r = await w.update();
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'rolled-back', from, to: bad });
    expect(w.head()).toBe(from);
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
    const modes = w.fake.validatorStarts().map((s) => s.mode);
    expect(modes).toContain('crash');
    expect(modes.at(-1)).toBe('ok');
    expect(fs.existsSync(path.join(w.deploy, '.fake-python.json'))).toBe(false);
    // Quarantined: the next run does not try it again.
    expect((await w.update()).result).toMatchObject({ outcome: 'skipped', reason: 'quarantined' });
  });
});

import crypto from 'node:crypto';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import type { CliResult } from '../helpers/cli.js';
import { restartWorld } from '../helpers/restart-world.js';
import { stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
if (staged.skip) console.log(`update plan e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

/** The JSON events of a --json run, without their time stamps. */
function events(r: CliResult, kind: string): Record<string, any>[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((e) => e.event === kind)
    .map(({ ts: _ts, event: _event, ...rest }) => rest);
}

const hash = (file: string) => (fs.existsSync(file) ? crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') : 'absent');

e2e('update: the real run executes the plan the dry run printed (built CLI as a non-root user, real git, real PM2)', { timeout: 300_000 }, () => {
  it('the executed steps are the printed ones, in order: venvs, stop, reset, API, validator, health', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const from = w.head();
    // New requirements: the target's venvs are prepared before the stop.
    const to = pushRelease(w.setup.origin, { version: '1.1.0', files: { 'modules/requirements.txt': 'requests==2.32.0\nrich==13.0.0\n' } });
    const state = hash(w.stateFile);
    const dry = await w.update(['--dry-run', '--json']);
    expect(dry.result, dry.stdout + dry.stderr).toMatchObject({ outcome: 'would-update', from, to });
    expect(hash(w.stateFile)).toBe(state);
    const [plan] = events(dry, 'plan').map((e) => e.plan);
    expect(plan).toMatchObject({ kind: 'swap', from, to });
    const printed = [...plan.steps.venvs, plan.steps.stop, ...plan.steps.forward.steps];
    // The dry run asked the running PM2 daemon (over its socket) what the stop would stop.
    expect(plan.steps.stop.processes).toEqual(expect.arrayContaining(['alphacore-validation-api', expect.stringMatching(/^validator-/)]));
    expect(printed.map((s) => s.step)).toEqual(['venv', 'venv', 'venv', 'venv', 'stop', 'reset', 'api', 'validator', 'health']);

    const real = await w.update(['--json']);
    expect(real.result, real.stdout + real.stderr).toMatchObject({ outcome: 'updated', from, to });
    const executed = events(real, 'step').map(({ part: _part, ...step }) => step);
    expect(executed).toEqual(printed);
    expect(events(real, 'step').filter((e) => e.part === 'rollback')).toEqual([]);
    // And the log file says the same steps.
    const logged = fs.readFileSync(w.logFile, 'utf8').split('\n').filter((l) => l.includes('] step: '));
    expect(logged).toHaveLength(printed.length);
    expect(logged.find((l) => l.includes('git reset --hard'))).toContain(`git reset --hard ${to}`);
    expect(w.head()).toBe(to);
  });
});

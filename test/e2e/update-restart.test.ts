import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import { restartWorld, type RestartWorld } from '../helpers/restart-world.js';
import { stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
if (staged.skip) console.log(`update restart e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

function expectServicesAt(w: RestartWorld, sha: string, version: string) {
  expect(w.head()).toBe(sha);
  expect(w.validator()).toMatchObject({ status: 'online' });
  const starts = w.setup.control.validatorStarts();
  expect(starts.at(-1)).toMatchObject({ version });
  // The bystander in another namespace was never touched.
  expect(w.pm2.list().find((p) => p.name === 'bystander')).toMatchObject({ status: 'online', pid: w.bystanderPid });
}

// Each test launches, then updates (prepare, stop, start, health) once or more: minutes on a shared machine.
e2e('update: the restart (built CLI as a non-root user, real git, real PM2, fixture services)', { timeout: 300_000 }, () => {
  it('a clean update: API started before the validator, extra args as separate words, bystander untouched, history with downtime', async () => {
    const w = await restartWorld(run, {
      behaviour: { version: '1.0.0' },
      config: [`VALIDATION_API_EXTRA_ARGS='--workers 2 --label "two words"'`],
      launchFlags: ['--tick-seconds', '60'],
    });
    const from = w.head();
    const to = pushRelease(w.setup.origin, { version: '1.1.0' });
    const before = Date.now();
    const r = await w.update(['--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'updated', from, to });
    expectServicesAt(w, to, '1.1.0');

    const apiStart = w.setup.control.apiStarts().filter((s) => s.ts >= before);
    const validatorStart = w.setup.control.validatorStarts().filter((s) => s.ts >= before);
    expect(apiStart).toHaveLength(1);
    expect(validatorStart).toHaveLength(1);
    expect(apiStart[0]!.ts).toBeLessThan(validatorStart[0]!.ts);
    // The prepared API venv (content-addressed by the target's requirements) is handed to the repo's script.
    expect(w.setup.control.apiLaunches().at(-1)).toEqual(['--pm2-namespace', 'alphacore', '--gcp-creds-file', expect.any(String), '--venv-dir', expect.stringMatching(/venvs\/api-[0-9a-f]{16}$/), '--port', String(w.apiPort), '--workers', '2', '--label', 'two words']);
    expect(validatorStart[0]!.env).toMatchObject({ ALPHACORE_TICK_SECONDS: '60', ALPHACORE_ENABLE_LLM: 'false', ALPHACORE_VALIDATOR_VERSION: '1.1.0' });
    expect(w.pm2.list().find((p) => p.name === 'alphacore-validation-api')).toMatchObject({ namespace: 'alphacore', status: 'online' });

    const [entry] = w.history();
    expect(entry).toMatchObject({ from, to, outcome: 'updated', reason: null });
    expect(entry!.downtimeMs).toEqual(expect.any(Number));
    expect(Object.keys(entry!.phasesMs as object)).toEqual(expect.arrayContaining(['preflight', 'reset', 'api', 'validator', 'health']));
    expect(w.state().journal).toBeUndefined();
    // One connection to the user's PM2 daemon for the swap; the list a reboot restores is
    // written after the relaunched validator was healthy.
    expect(r.stdout).toContain("PM2 through its daemon's socket (pm2 ");
    expect(fs.statSync(path.join(w.pm2.home, 'dump.pm2')).mtimeMs).toBeGreaterThan(validatorStart[0]!.ts);
    console.log(`measured: downtime ${String(entry!.downtimeMs)} ms (first stop -> validator online); phases ${JSON.stringify(entry!.phasesMs)}`);
  });

  it('a broken validator: rolled back (exit 1), the previous commit running, the target quarantined until the branch moves', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const good = w.head();
    const bad = pushRelease(w.setup.origin, { version: '2.0.0', validator: 'crash' });
    const r = await w.update(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: 'health-failed', from: good, to: bad });
    expectServicesAt(w, good, '1.0.0');
    expect(w.state().quarantine.map((q) => q.sha)).toEqual([bad]);
    expect(w.history().at(-1)).toMatchObject({ outcome: 'rolled-back', to: bad });

    const again = await w.update(['--json']);
    expect(again.result).toMatchObject({ outcome: 'skipped', reason: 'quarantined', to: bad });
    expect(again.exitCode).toBe(0);

    const fixed = pushRelease(w.setup.origin, { version: '2.0.1' });
    const third = await w.update(['--json']);
    expect(third.result).toMatchObject({ outcome: 'updated', to: fixed });
    expectServicesAt(w, fixed, '2.0.1');
  });

  it('a broken Validation API launch script: rolled back, the API running again at the previous commit', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const good = w.head();
    const bad = pushRelease(w.setup.origin, { version: '2.0.0', api: 'fail-script' });
    const r = await w.update(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: 'api-failed', to: bad });
    expectServicesAt(w, good, '1.0.0');
    expect(w.pm2.list().find((p) => p.name === 'alphacore-validation-api')).toMatchObject({ status: 'online' });
    expect(w.setup.control.apiStarts().at(-1)).toMatchObject({ version: '1.0.0' });
  });

  it('when even the rollback fails: failed, loudly, and the next run retries the rollback before anything else', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const good = w.head();
    const bad = pushRelease(w.setup.origin, { version: '2.0.0' });
    // The API launch script fails for every commit while this knob exists.
    const knob = path.join(w.setup.control.dir, 'api-launch-fails');
    fs.writeFileSync(knob, '');
    const r = await w.update(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'rollback-failed', from: good, to: bad });
    expect(r.stdout).toContain('ROLLBACK FAILED: the validator may be DOWN');
    expect(r.stdout).toContain('pm2 list --namespace alphacore');
    expect(w.state().journal).toMatchObject({ from: good, to: bad, rollbackFailed: true });
    expect(w.state().quarantine.map((q) => q.sha)).toEqual([bad]);
    expect(w.history().at(-1)).toMatchObject({ outcome: 'failed', reason: 'rollback-failed' });

    fs.rmSync(knob);
    // The next three runs retry at once; after them the retry waits for its backoff (4 min
    // after the fourth failure) unless forced: the state as the fourth failure leaves it.
    const failed = JSON.parse(fs.readFileSync(w.stateFile, 'utf8'));
    expect(Date.parse(failed.journal.nextRetryAt)).toBeLessThanOrEqual(Date.now());
    failed.journal.attempts = 4;
    failed.journal.nextRetryAt = new Date(Date.now() + 4 * 60_000).toISOString();
    fs.writeFileSync(w.stateFile, JSON.stringify(failed));
    const early = await w.update(['--json']);
    expect(early.result).toMatchObject({ outcome: 'failed', reason: 'rollback-failed' });
    expect(early.stdout).toContain('next retry at');
    const next = await w.update(['--json', '--force']);
    expect(next.stdout).toContain('failed to roll back');
    expect(next.result).toMatchObject({ outcome: 'rolled-back', reason: 'rollback-retried' });
    expectServicesAt(w, good, '1.0.0');
    expect(w.state().journal).toBeUndefined();
  });

  it('a sudo that wants a password for the sandbox setup: failed in preflight, nothing stopped', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' }, config: ['SANDBOX_SETUP=always'] });
    const good = w.head();
    const pid = w.validator()!.pid;
    pushRelease(w.setup.origin, { version: '2.0.0' });
    const r = await w.update(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'preflight' });
    expect(r.stdout).toMatch(/sudo would ask for a password to run the sandbox setup/);
    expect(w.head()).toBe(good);
    expect(w.validator()).toMatchObject({ status: 'online', pid });
    expect(w.setup.control.sandboxRuns()).toBe(0);
    expect(w.history()).toEqual([]);
  });

  it('dependencies are installed only when modules/requirements.txt changed: prepared venvs are reused (prepare, then swap)', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    pushRelease(w.setup.origin, { version: '1.0.1' });
    expect((await w.update(['--json'])).result).toMatchObject({ outcome: 'updated' });
    // The first update prepares the venvs for these requirements (before the stop).
    const first = w.setup.control.pipRuns().length;
    expect(first).toBeGreaterThan(0);
    pushRelease(w.setup.origin, { version: '1.0.2' });
    expect((await w.update(['--json'])).result).toMatchObject({ outcome: 'updated' });
    expect(w.setup.control.pipRuns()).toHaveLength(first);
    pushRelease(w.setup.origin, { version: '1.0.3', files: { 'modules/requirements.txt': 'requests==2.32.0\n' } });
    expect((await w.update(['--json'])).result).toMatchObject({ outcome: 'updated' });
    const runs = w.setup.control.pipRuns();
    expect(runs.length).toBeGreaterThan(first);
    expect(runs.at(-1)).toEqual(expect.arrayContaining(['install', '-r']));
  });
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import { restartWorld, type RestartWorld } from '../helpers/restart-world.js';
import { stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
if (staged.skip) console.log(`interrupted-update e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

const ORDER = ['stop', 'reset', 'api', 'validator', 'health'];

/**
 * Starts `alphacore update` as the user in its own process group and kills the whole
 * group with SIGKILL as soon as the journal shows `phase` (or a later one). Returns
 * the phase it was killed in.
 */
async function killDuring(w: RestartWorld, phase: string, rollingBack = false): Promise<string> {
  const child = spawn(process.execPath, [w.run.cli, 'update', '--config', w.configFile], {
    uid: w.run.user.uid,
    gid: w.run.user.gid,
    env: { ...w.env, USER: w.run.user.name },
    cwd: w.env.HOME,
    detached: true,
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 60_000;
  let seen = '';
  while (Date.now() < deadline) {
    let journal: { phase?: string; rollingBack?: boolean } | undefined;
    try {
      journal = JSON.parse(fs.readFileSync(w.stateFile, 'utf8')).journal;
    } catch {
      journal = undefined;
    }
    if (journal?.phase && Boolean(journal.rollingBack) === rollingBack && ORDER.indexOf(journal.phase) >= ORDER.indexOf(phase)) {
      seen = journal.phase;
      process.kill(-child.pid!, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await exited;
  expect(seen, `never saw phase ${phase}`).not.toBe('');
  return seen;
}

e2e('update: a run killed with SIGKILL is finished or rolled back by the next run', () => {
  it.each(['stop', 'reset', 'api', 'validator', 'health'])('killed in phase %s', async (phase) => {
    // A slow API makes the api phase long enough to be caught in.
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const from = w.head();
    const to = pushRelease(w.setup.origin, { version: '1.1.0', api: 'slow', slowMs: 1500 });
    const killedIn = await killDuring(w, phase);
    console.log(`asked to kill in ${phase}, killed in ${killedIn}`);
    expect(w.state().journal).toMatchObject({ from, to });

    const next = await w.update(['--json']);
    expect(next.stdout).toContain('was interrupted in phase');
    expect(next.result?.outcome).not.toBe('locked');
    const at = next.result!.outcome === 'updated' ? to : from;
    expect(next.result).toMatchObject(at === to ? { outcome: 'updated', reason: 'recovered' } : { outcome: 'rolled-back', reason: 'interrupted' });
    expect(w.head()).toBe(at);
    expect(w.validator()).toMatchObject({ status: 'online' });
    expect(w.setup.control.validatorStarts().at(-1)).toMatchObject({ version: at === to ? '1.1.0' : '1.0.0' });
    expect(w.pm2.list().find((p) => p.name === 'bystander')).toMatchObject({ status: 'online', pid: w.bystanderPid });
    expect(w.state().journal).toBeUndefined();
    // A plain interruption does not quarantine, and is not reported as quarantined:
    // the run after tries the release again.
    expect(w.state().quarantine).toEqual([]);
    expect(next.stdout).not.toMatch(/quarantined/);
    if (at === from) {
      const third = await w.update(['--json']);
      expect(third.result).toMatchObject({ outcome: 'updated', to });
    }
  }, 180_000);

  it('killed during its rollback: the next run finishes the rollback and quarantines the target', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const from = w.head();
    const to = pushRelease(w.setup.origin, { version: '2.0.0', validator: 'crash' });
    await killDuring(w, 'reset', true);
    const next = await w.update(['--json']);
    expect(next.result).toMatchObject({ outcome: 'rolled-back', reason: 'interrupted' });
    expect(w.head()).toBe(from);
    expect(w.validator()).toMatchObject({ status: 'online' });
    expect(w.state().quarantine.map((q) => q.sha)).toEqual([to]);
    expect((await w.update(['--json'])).result).toMatchObject({ outcome: 'skipped', reason: 'quarantined' });
  }, 180_000);
});

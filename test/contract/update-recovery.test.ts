import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureGit } from '../helpers/alphacore-fixture.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld, type ContractWorld } from './contract-world.js';

// A run killed (SIGKILL, whole process group) in the middle of an update on the real
// repository is recovered by the next run: services online at a known commit (§5.1).
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
const run = staged.ready as StagedRun;

async function killDuring(w: ContractWorld, phases: string[]): Promise<string> {
  const stateFile = path.join(w.stateDir, 'alphacore.state.json');
  const child = spawn(process.execPath, [w.run.cli, 'update', '--config', w.configFile], {
    uid: w.run.user.uid,
    gid: w.run.user.gid,
    env: { ...w.env, USER: w.run.user.name },
    cwd: w.env.HOME,
    detached: true,
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 120_000;
  let seen = '';
  while (!seen && Date.now() < deadline) {
    try {
      const phase = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { journal?: { phase?: string } }).journal?.phase;
      if (phase && phases.includes(phase)) {
        seen = phase;
        process.kill(-child.pid!, 'SIGKILL');
      }
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await exited;
  expect(seen, `never saw any of ${phases.join(', ')}`).not.toBe('');
  return seen;
}

// Real scripts, pip and PM2 restarts with their 5 s delay: minutes on a loaded machine.
describe.skipIf(skip)('contract: an update killed midway on the real repository', { timeout: 300_000 }, () => {
  it('killed while the repo scripts restart the services: the next run recovers, both services online at a known commit', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const from = w.head();
    const to = w.origin.advance();
    // Slow starts keep the run inside the api/validator phases long enough to be caught there.
    w.fake.set({ startDelaySeconds: 2 });
    const killedIn = await killDuring(w, ['api', 'validator', 'health']);
    console.log(`killed in phase ${killedIn}`);
    w.fake.set({ startDelaySeconds: undefined });

    const next = await w.update();
    expect(next.stdout).toContain('was interrupted in phase');
    const at = next.result?.outcome === 'updated' ? to : from;
    expect(next.result, next.stdout + next.stderr).toMatchObject(at === to ? { outcome: 'updated', reason: 'recovered' } : { outcome: 'rolled-back', reason: 'interrupted' });
    expect(w.head()).toBe(at);
    expect(w.services()).toEqual([['alphacore-validation-api', 'online'], ['validator-hot-test', 'online']]);
    expect(w.fake.validatorStarts().at(-1)!.version).toBe(fixtureGit(w.deploy, 'show', `${at}:VERSION`).trim());
  });
});

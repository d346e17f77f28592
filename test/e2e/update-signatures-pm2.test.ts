import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alphaCoreFiles, fixtureGit, type AlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { restartWorld, type RestartWorld } from '../helpers/restart-world.js';
import { makeSigner, pushSigned, signerLine, writeSignersFile, type Signer } from '../helpers/signing.js';
import { stage, userTempDir, type StagedRun } from '../helpers/user.js';

const staged = stage();
if (staged.skip) console.log(`signed-release PM2 e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

/** A release of the fixture (its scripts and stubs) signed by `signer` (null: unsigned). */
function release(w: RestartWorld, signer: Signer | null, version: string): string {
  const files = Object.fromEntries(Object.entries(alphaCoreFiles({ version })).filter((e): e is [string, string] => e[1] !== null));
  return pushSigned(w.setup.origin, signer, files, `release ${version}`);
}

/** Every PM2 process by name -> pid (the namespace's two services and the bystander). */
function pids(w: RestartWorld): Record<string, number> {
  return Object.fromEntries(w.pm2.list().map((p) => [`${p.namespace}/${p.name}`, p.pid]));
}

async function signedWorld(policy?: 'all'): Promise<{ w: RestartWorld; owner: Signer }> {
  const keys = userTempDir(run.user, 'alphacore-keys-');
  const owner = makeSigner(keys, 'owner@subnet');
  const allowed = writeSignersFile(path.join(keys, 'allowed_signers'), [signerLine(owner)]);
  fs.chmodSync(keys, 0o755);
  // launch verifies the clone's HEAD (DESIGN.md §11): the owner signs the commit it deploys.
  const beforeLaunch = (setup: AlphaCoreSetup) => {
    pushSigned(setup.origin, owner, {}, 'signed 1.0.0');
    fixtureGit(setup.deploy, 'pull', '--quiet', '--ff-only');
  };
  const w = await restartWorld(run, { behaviour: { version: '1.0.0' }, beforeLaunch, launchFlags: ['--allowed-signers', allowed, ...(policy ? ['--signature-policy', policy] : [])] });
  // launch wrote the keys into the auto-update config.
  const config = fs.readFileSync(w.configFile, 'utf8');
  expect(config).toContain(`\nALLOWED_SIGNERS=${allowed}\n`);
  if (policy) expect(config).toContain(`\nSIGNATURE_POLICY=${policy}\n`);
  return { w, owner };
}

e2e('signed releases with running services (built CLI as a non-root user, real PM2)', () => {
  it('an unsigned release is refused with every PM2 process untouched (same pids); the signed one is deployed', async () => {
    const { w, owner } = await signedWorld();
    // The API is started by the first update; run one signed update to have both services up.
    const first = release(w, owner, '1.1.0');
    let r = await w.update(['--json']);
    expect(r.result, r.stdout).toMatchObject({ outcome: 'updated', to: first });
    const before = pids(w);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['alphacore/validator-hot-test', 'alphacore/alphacore-validation-api', 'other/bystander']));
    const starts = w.setup.control.validatorStarts().length;

    const unsigned = release(w, null, '1.2.0');
    r = await w.update(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'refused', reason: 'unsigned', from: first, to: unsigned });
    r = await w.update(['--json', '--force']);
    expect(r.result).toMatchObject({ outcome: 'refused', reason: 'unsigned' });
    expect(pids(w)).toEqual(before);
    expect(w.validator()).toMatchObject({ status: 'online', restarts: 0 });
    expect(w.setup.control.validatorStarts()).toHaveLength(starts);
    expect(w.head()).toBe(first);
    expect(w.history().filter((h) => h.outcome === 'refused')).toHaveLength(0);

    const signed = release(w, owner, '1.3.0');
    r = await w.update(['--json']);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'updated', from: first, to: signed });
    expect(w.head()).toBe(signed);
    expect(w.setup.control.validatorStarts().at(-1)).toMatchObject({ version: '1.3.0' });
    expect(pids(w)['other/bystander']).toBe(w.bystanderPid);
  }, 240_000); // four runs, two of them real restarts

  it('SIGNATURE_POLICY=all: a force-push back to an older signed release is refused (history policy), nothing stopped, and deployed with --to; an unsigned commit under a signed tip is refused', async () => {
    const { w, owner } = await signedWorld('all');
    const v11 = release(w, owner, '1.1.0');
    expect((await w.update(['--json'])).result).toMatchObject({ outcome: 'updated', to: v11 });
    const v12 = release(w, owner, '1.2.0');
    expect((await w.update(['--json'])).result).toMatchObject({ outcome: 'updated', to: v12 });
    w.setup.origin.forcePush(v11);
    const running = pids(w);
    let r = await w.update(['--json']);
    expect(r.exitCode, r.stdout).toBe(1);
    expect(r.result, r.stdout).toMatchObject({ outcome: 'refused', reason: 'not-forward', from: v12, to: v11 });
    expect(pids(w)).toEqual(running);
    expect(w.head()).toBe(v12);
    r = await w.update(['--json', '--to', v11]);
    expect(r.result, r.stdout).toMatchObject({ outcome: 'updated', from: v12, to: v11 });
    expect(w.setup.control.validatorStarts().at(-1)).toMatchObject({ version: '1.1.0' });

    const before = pids(w);
    release(w, null, '1.3.0');
    const tip = release(w, owner, '1.4.0');
    r = await w.update(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'refused', reason: 'unsigned', from: v11, to: tip });
    expect(r.stdout).toContain('unsigned: the commit has no signature');
    expect(pids(w)).toEqual(before);
    expect(w.head()).toBe(v11);
  }, 300_000); // five runs, three of them real restarts
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld } from './contract-world.js';

// launch on the real repository: done only for a healthy validator, never on a
// half-installed venv, never a second validator in one namespace (issue 9, DESIGN.md §4).
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
const run = staged.ready as StagedRun;

// Real scripts, pip and PM2 restarts with their 5 s delay: minutes on a loaded machine.
describe.skipIf(skip)('contract: launch guards on the real repository', { timeout: 300_000 }, () => {
  it('a crash-looping validator: exit 1 with the last error-log lines and how to read more; no pm2 save, no config', async () => {
    const w = await contractWorld(run);
    w.fake.set({ validator: 'crash' });
    const r = await w.cli(w.launchFlags('--disable-validation-api'));
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/did not become healthy: validator-hot-test (restarted|is errored)/);
    expect(r.stderr).toContain(`Last lines of its error log ${path.join(w.deploy, 'logs/pm2/validator-hot-test.error.log')}`);
    expect(r.stderr).toContain('fake validator: crashing as told');
    expect(r.stderr).toContain('pm2 logs validator-hot-test --lines 200');
    expect(r.stdout).not.toContain('Saved the PM2 process list');
    expect(fs.existsSync(path.join(w.pm2.home, 'dump.pm2'))).toBe(false);
    expect(fs.existsSync(w.configFile)).toBe(false);
    // The validator it started is not left crash-looping in PM2.
    expect(r.stderr).toContain('Removed the PM2 process it started, validator-hot-test (namespace alphacore)');
    expect(w.jlist()).toEqual([]);
  });

  it('a venv whose pip install failed is finished by the next launch, never used half-installed', async () => {
    const w = await contractWorld(run);
    const venv = path.join(w.deploy, 'venv');
    w.fake.networkDown();
    const first = await w.cli(w.launchFlags('--disable-validation-api'));
    expect(first.exitCode, first.stdout + first.stderr).toBe(1);
    expect(first.stderr).toMatch(/pip install -r .*modules\/requirements.txt failed/);
    expect(fs.existsSync(path.join(venv, 'bin', 'activate'))).toBe(true);
    expect(fs.existsSync(path.join(venv, '.alphacore-incomplete'))).toBe(true);
    expect(w.jlist()).toEqual([]);

    w.fake.networkDown(false);
    const second = await w.cli(w.launchFlags('--disable-validation-api'));
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('Finishing the validator venv');
    expect(fs.existsSync(path.join(venv, '.alphacore-incomplete'))).toBe(false);
    expect(w.fake.venvsCreated().map((v) => v.dir)).toEqual([venv]);
    expect(w.fake.pipRuns().filter((p) => p.venv === venv && p.args.includes('-r')).map((p) => p.ok)).toEqual([false, true]);
    expect(w.fake.installed(venv)).toEqual(expect.arrayContaining(['bittensor', 'openai']));
    expect(w.jlist().map((p) => [p.name, p.pm2_env.status])).toEqual([['validator-hot-test', 'online']]);
  });

  it('a second hotkey in a namespace that has a validator: refused naming --pm2-namespace (nothing written); --replace swaps them', async () => {
    const w = await contractWorld(run);
    const first = await w.cli(w.launchFlags('--disable-validation-api'));
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const firstPid = w.jlist()[0]!.pid;
    const other = w.launchFlags('--disable-validation-api').map((f) => (f === 'hot' ? 'hot2' : f));
    const refused = await w.cli(other);
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain('PM2 namespace alphacore already runs another validator: validator-hot-test');
    expect(refused.stderr).toContain('--pm2-namespace');
    expect(refused.stderr).toContain('--replace');
    expect(fs.existsSync(path.join(w.deploy, 'env/test/validator-cold-hot2.env'))).toBe(false);
    expect(w.jlist().map((p) => [p.name, p.pid, p.pm2_env.status])).toEqual([['validator-hot-test', firstPid, 'online']]);

    // Another namespace is fine; --replace in this one deletes the other validator.
    // (its own task-generation port: the world's --http-port value replaced, a flag given twice is refused)
    const ownPort = other.map((f, i) => (other[i - 1] === '--http-port' ? String(w.httpPort + 1) : f));
    const elsewhere = await w.cli([...ownPort, '--pm2-namespace', 'second']);
    expect(elsewhere.exitCode, elsewhere.stdout + elsewhere.stderr).toBe(0);
    const replaced = await w.cli([...other, '--replace']);
    expect(replaced.exitCode, replaced.stdout + replaced.stderr).toBe(0);
    expect(w.jlist().map((p) => [p.pm2_env.namespace, p.name, p.pm2_env.status]).sort()).toEqual([
      ['alphacore', 'validator-hot2-test', 'online'],
      ['second', 'validator-hot2-test', 'online'],
    ]);
  });
});

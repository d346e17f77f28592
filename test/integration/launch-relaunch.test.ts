import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { relaunchValidator, validatorArgvFromConfig } from '../../src/domain/launch/relaunch.js';
import { runLaunch } from '../../src/commands/launch/index.js';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { loadConfig } from '../../src/core/config.js';
import { UserError } from '../../src/core/errors.js';
import { createAlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { installFakePython } from '../helpers/fake-python.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { testContext } from '../helpers/context.js';
import { isolatedEnv, tempDir } from '../helpers/tmp.js';
import { closedPort } from '../helpers/api.js';

// In-process, as root but with a non-root uid in the Context (launch refuses uid 0);
// PM2 is the devDependency with a PM2_HOME in a temp dir.
let daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

async function world() {
  const root = tempDir('alphacore-relaunch-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), behaviour: { version: '9.9.9' } });
  const pm2 = isolatedPm2(root);
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'relaunch@proj.iam.gserviceaccount.com' }));
  const env = { ...isolatedEnv(root), ...pm2.env, ...setup.control.env, VALIDATOR_ROUND_LOCKFILE: path.join(root, 'round.lock'), HEALTH_STABLE: '1s' };
  const out: string[] = [];
  const ctx = testContext(env, setup.deploy, { out, uid: 4242 });
  return { root, setup, pm2, creds, ctx, out };
}

// The validators these start serve a free port, never the machine's 8000 (trial defect 19).
const HTTP_PORT = ['--http-port', String(await closedPort())];

describe('relaunchValidator (the update cycle\'s validator restart)', () => {
  it('relaunches from the auto-update config: same env file, process replaced, config and scheduler untouched', async () => {
    const w = await world();
    const argv = ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '3', '--network', 'local', '--gcp-creds-file', w.creds, '--no-autoupdate', '--disable-llm', '--epoch-slots', '2', '--pm2-namespace', 'relns', '--disable-validation-api', ...HTTP_PORT];
    expect(await runLaunch(w.ctx, await parseLaunchArgv(argv))).toBe(0);
    const configFile = w.ctx.paths.autoupdateConfig('relns');
    const envFile = path.join(w.setup.deploy, 'env', 'local', 'validator-cold-hot.env');
    const envText = fs.readFileSync(envFile, 'utf8');
    const configText = fs.readFileSync(configFile, 'utf8');
    const before = w.pm2.list().find((p) => p.name === 'validator-hot-local')!;
    expect(before.status).toBe('online');

    const config = loadConfig(configFile, {}, {}, w.ctx.paths);
    fs.rmSync(envFile);
    await relaunchValidator(w.ctx, validatorArgvFromConfig(config), w.setup.deploy);

    expect(fs.readFileSync(envFile, 'utf8')).toBe(envText);
    expect(fs.readFileSync(configFile, 'utf8')).toBe(configText);
    const after = w.pm2.list().filter((p) => p.name === 'validator-hot-local');
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ namespace: 'relns', status: 'online' });
    expect(after[0]!.pid).not.toBe(before.pid);
    expect(w.out.join('')).toContain('Started validator-hot-local in PM2 namespace relns');
  });

  it('restarts a stopped validator (the cycle stopped the namespace) even with unchanged settings', async () => {
    const w = await world();
    const argv = ['--wallet-name', 'c', '--hotkey', 'h', '--netuid', '1', '--network', 'local', '--validator-sa', 'a@b.iam.gserviceaccount.com', '--disable-llm', '--disable-validation-api', ...HTTP_PORT];
    await relaunchValidator(w.ctx, argv, w.setup.deploy);
    w.pm2.pm2('stop', 'all');
    expect(w.pm2.list().map((p) => p.status)).toEqual(['stopped']);
    await relaunchValidator(w.ctx, argv, w.setup.deploy);
    expect(w.pm2.list().map((p) => p.status)).toEqual(['online']);
    expect(fs.existsSync(w.ctx.paths.autoupdateConfig('alphacore'))).toBe(false);
  });

  it('bad flags: one UserError listing every problem, nothing written or started', async () => {
    const w = await world();
    const error = await relaunchValidator(w.ctx, ['--wallet-name', 'c', '--netuid', 'x', '--network', 'local', '--epoch-slots', '0', '--nope'], w.setup.deploy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).problems).toEqual(
      expect.arrayContaining([expect.stringContaining('--nope'), expect.stringContaining('--hotkey'), expect.stringContaining('--netuid x'), expect.stringContaining('--epoch-slots 0')]),
    );
    expect(fs.existsSync(path.join(w.setup.deploy, 'env'))).toBe(false);
    expect(fs.existsSync(path.join(w.pm2.home, 'pm2.pid'))).toBe(false);
  });

  it('a missing venv without python3 is a clear error before anything starts', async () => {
    const w = await world();
    fs.rmSync(w.setup.venv, { recursive: true });
    // A PATH with node and pm2 but no python3.
    const bin = path.join(w.root, 'bin-no-python');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync(path.join(w.pm2.env.PATH.split(':')[0]!, 'pm2'), path.join(bin, 'pm2'));
    const ctx = { ...w.ctx, env: { ...w.ctx.env, PATH: bin } };
    const error = await relaunchValidator(ctx, ['--wallet-name', 'c', '--hotkey', 'h', '--netuid', '1', '--network', 'local', '--validator-sa', 'a@b.iam.gserviceaccount.com', '--disable-llm'], w.setup.deploy).catch((e: unknown) => e);
    expect(String(error)).toMatch(/venv .* does not exist and cannot be created here \(python3 is not on PATH\)\. Create it with: python3 -m venv/);
    expect(fs.existsSync(path.join(w.setup.deploy, 'env'))).toBe(false);
  });

  it('a missing venv is bootstrapped with python3 -m venv + pip install -r modules/requirements.txt', async () => {
    // Only Python is replaced (the fake runtime): its venv, its pip, and the validator it runs.
    const w = await world();
    const fake = installFakePython(path.join(w.root, 'python'));
    fs.rmSync(w.setup.venv, { recursive: true });
    fs.writeFileSync(path.join(w.setup.deploy, 'modules', 'requirements.txt'), 'bittensor\n');
    const ctx = { ...w.ctx, env: { ...w.ctx.env, PATH: `${fake.bin}:${w.ctx.env.PATH}` } };
    await relaunchValidator(ctx, ['--wallet-name', 'c', '--hotkey', 'h', '--netuid', '1', '--network', 'local', '--validator-sa', 'a@b.iam.gserviceaccount.com', '--disable-llm', '--disable-validation-api', ...HTTP_PORT], w.setup.deploy);
    expect(fs.existsSync(path.join(w.setup.venv, 'bin', 'activate'))).toBe(true);
    expect(fs.existsSync(path.join(w.setup.venv, '.alphacore-incomplete'))).toBe(false);
    expect(fake.installed(w.setup.venv)).toEqual(['bittensor', 'pip']);
    expect(w.out.join('')).toMatch(/Creating the validator venv[\s\S]*Installing .*requirements.txt/);
    expect(w.pm2.list().map((p) => p.status)).toEqual(['online']);
  });
});

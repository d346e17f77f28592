import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlphaCoreSetup, fixtureGit, type AlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { closedPort } from '../helpers/api.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { makeSigner, pushSigned, signerLine, writeSignersFile, type Signer } from '../helpers/signing.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runAs, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

/**
 * The first deploy is verified (DESIGN.md §11): `launch` with signatures configured
 * checks the clone's HEAD before it starts anything. Real ssh-keygen keys, the built
 * CLI as a non-root user, a real isolated PM2.
 */
const staged = stage();
if (staged.skip) console.log(`launch signature e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

interface World {
  setup: AlphaCoreSetup;
  pm2: IsolatedPm2;
  env: Record<string, string>;
  owner: Signer;
  stranger: Signer;
  allowed: string;
  args: (...more: string[]) => string[];
  configFile: string;
  envFile: string;
}

async function world(sign: 'owner' | 'stranger' | null): Promise<World> {
  const root = userTempDir(run.user, 'alphacore-launch-sig-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user, behaviour: { version: '2.0.0' } });
  const keys = path.join(root, 'keys');
  const owner = makeSigner(keys, 'owner@subnet');
  const stranger = makeSigner(keys, 'stranger@elsewhere');
  const allowed = writeSignersFile(path.join(keys, 'allowed_signers'), [signerLine(owner)]);
  if (sign) {
    pushSigned(setup.origin, sign === 'owner' ? owner : stranger, {}, 'release 2.0.0, signed');
    fixtureGit(setup.deploy, 'pull', '--quiet', '--ff-only');
  }
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  const env = { ...isolatedEnv(root), ...pm2.env, ...setup.control.env, VALIDATOR_ROUND_LOCKFILE: path.join(root, 'round.lock'), HEALTH_STABLE: '2s' };
  // launch refuses a wallet it cannot find: the one the flags name.
  createWallet(homeWallets(env.HOME), 'cold', ['hot']);
  await chownTree(root, run.user);
  const apiPort = await closedPort();
  const httpPort = await closedPort();
  const api = await runAs(run.user, '/bin/bash', [path.join(setup.deploy, 'scripts/validator/process/launch_validation_api.sh'), '--gcp-creds-file', creds, '--port', String(apiPort)], { env, cwd: setup.deploy });
  expect(api.exitCode, String(api.stderr)).toBe(0);
  return {
    setup,
    pm2,
    env,
    owner,
    stranger,
    allowed,
    args: (...more) => ['launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds, '--validation-api-endpoint', `http://127.0.0.1:${apiPort}`, '--no-autoupdate', '--disable-llm', '--http-port', String(httpPort), ...more],
    configFile: path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', 'alphacore.env'),
    envFile: path.join(setup.deploy, 'env', 'test', 'validator-cold-hot.env'),
  };
}

const launch = (w: World, args: string[]) => runCliAs(run, args, { env: w.env, cwd: w.setup.deploy, timeoutMs: 180_000 });
const validators = (w: World) => w.pm2.list().filter((p) => p.name.startsWith('validator-'));
const head = (w: World) => fixtureGit(w.setup.deploy, 'rev-parse', 'HEAD');

e2e('launch verifies the clone it deploys first', () => {
  it('an unsigned HEAD with --allowed-signers: exit 2 naming the commit and the verdict, nothing started or written (also --dry-run)', async () => {
    const w = await world(null);
    for (const extra of [['--dry-run'], []]) {
      const r = await launch(w, w.args('--allowed-signers', w.allowed, ...extra));
      expect(r.exitCode, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(`The deploy clone ${w.setup.deploy} is at ${head(w)}, which fails the signature policy (ALLOWED_SIGNERS=${w.allowed}): unsigned: the commit has no signature. Nothing was started.`);
    }
    expect(validators(w)).toEqual([]);
    expect(fs.existsSync(w.envFile)).toBe(false);
    expect(fs.existsSync(w.configFile)).toBe(false);
  });

  it('ALLOWED_SIGNERS already in the auto-update config counts as configured: a HEAD signed by a stranger is refused without the flag', async () => {
    const w = await world('stranger');
    fs.mkdirSync(path.dirname(w.configFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(w.configFile, `ALLOWED_SIGNERS=${w.allowed}\n`, { mode: 0o600 });
    await chownTree(path.dirname(path.dirname(path.dirname(w.configFile))), run.user);
    const r = await launch(w, w.args());
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`is at ${head(w)}, which fails the signature policy .*: unknown-key: signed by a key that is not in ALLOWED_SIGNERS \\(key SHA256:`));
    expect(validators(w)).toEqual([]);
    expect(fs.readFileSync(w.configFile, 'utf8')).toBe(`ALLOWED_SIGNERS=${w.allowed}\n`);
  });

  it('a HEAD signed by the owner is launched, and the log says whose signature it carries', async () => {
    const w = await world('owner');
    const r = await launch(w, w.args('--allowed-signers', w.allowed));
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`the deploy clone's HEAD ${head(w).slice(0, 7)} passes the signature policy: signed by owner@subnet`);
    expect(validators(w)).toEqual([expect.objectContaining({ status: 'online' })]);
  }, 180_000);
});

import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { closedPort } from '../helpers/api.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

/**
 * `launch --pm2-logrotate`: PM2's own log rotation installed into the operator's PM2 (here
 * an isolated PM2_HOME) by `pm2 install pm2-logrotate` from the npm registry, with the
 * validator's sizes; offline, a clear failure (exit 1) with npm's reason while the
 * validator keeps running.
 */
const staged = stage();
if (staged.skip) console.log(`launch --pm2-logrotate e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;
// The machine's own network settings (a proxy, its CA), so npm reaches the registry as root does.
const NETWORK_ENV = ['NODE_EXTRA_CA_CERTS', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy'];

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

async function world() {
  const root = userTempDir(run.user, 'alphacore-logrotate-e2e-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user });
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  const env: Record<string, string> = { ...isolatedEnv(root), ...pm2.env, ...setup.control.env, HEALTH_STABLE: '2s' };
  for (const k of NETWORK_ENV) if (process.env[k]) env[k] = process.env[k]!;
  createWallet(homeWallets(env.HOME!), 'cold', ['hot']);
  await chownTree(root, run.user);
  const args = [
    'launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds,
    '--disable-llm', '--disable-validation-api', '--no-autoupdate', '--http-port', String(await closedPort()), '--pm2-logrotate',
  ];
  const launch = (extra: Record<string, string> = {}, more: string[] = []) => runCliAs(run, [...args, ...more], { env: { ...env, ...extra }, cwd: setup.deploy, timeoutMs: 300_000 });
  return { pm2, env, launch };
}

e2e('launch --pm2-logrotate', () => {
  it('--dry-run says what it would run and that it needs the npm registry; nothing installed', async () => {
    const w = await world();
    const r = await w.launch({}, ['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('PM2 log rotation (--pm2-logrotate): would run pm2 install pm2-logrotate; pm2 set pm2-logrotate:max_size 50M; pm2 set pm2-logrotate:retain 10; pm2 set pm2-logrotate:compress true');
    expect(r.stdout).toContain('npm registry');
    expect(fs.existsSync(path.join(w.pm2.home, 'module_conf.json'))).toBe(false);
  }, 120_000);

  it('the npm registry out of reach: exit 1 within seconds, naming npm\'s reason and the commands for later; the validator runs', async () => {
    const w = await world();
    const r = await w.launch({ npm_config_registry: `http://127.0.0.1:${await closedPort()}/` });
    expect(r.exitCode, r.stdout).toBe(1);
    expect(r.stderr).toContain('pm2 install pm2-logrotate failed (npm error code ECONNREFUSED). It downloads the module from the npm registry');
    expect(r.stderr).toContain('pm2 install pm2-logrotate && pm2 set pm2-logrotate:max_size 50M');
    expect(r.stderr).toContain('The validator runs; its logs are not rotated.');
    expect(w.pm2.list().filter((p) => p.name === 'validator-hot-test').map((p) => p.status)).toEqual(['online']);
    expect(w.pm2.list().some((p) => p.name === 'pm2-logrotate')).toBe(false);
  }, 300_000);

  it('from the registry: pm2-logrotate runs in the operator\'s PM2 with max_size 50M, retain 10, compress; status says the logs are rotated', async (ctx) => {
    const w = await world();
    const ping = await execa('npm', ['ping', '--fetch-retries=0'], { reject: false, timeout: 30_000, env: { ...process.env, HOME: w.env.HOME } });
    if (ping.exitCode !== 0) {
      console.log(`skipped: the npm registry is not reachable (npm ping: ${String(ping.stderr).trim().split('\n').at(-1)})`);
      ctx.skip();
    }
    const r = await w.launch();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Installed pm2-logrotate in PM2 (pm2 install pm2-logrotate).');
    expect(r.stdout).toContain('PM2 log rotation: max_size 50M, retain 10, compress true');
    const conf = JSON.parse(fs.readFileSync(path.join(w.pm2.home, 'module_conf.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    // pm2 set stores strings; pm2-logrotate parses compress with its parseBool.
    expect(conf['pm2-logrotate']).toMatchObject({ max_size: '50M', retain: '10', compress: 'true' });
    expect(w.pm2.list().filter((p) => p.name === 'pm2-logrotate').map((p) => p.status)).toEqual(['online']);
    const status = await runCliAs(run, ['status', '--json'], { env: w.env });
    expect(JSON.parse(status.stdout).pm2.logs).toMatchObject({ rotated: true });
    // Again: the module is not installed twice (no registry needed), the sizes are set again.
    const again = await w.launch({ npm_config_registry: `http://127.0.0.1:${await closedPort()}/` });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('Installed pm2-logrotate');
  }, 300_000);
});

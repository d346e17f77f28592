import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlphaCoreSetup, type AlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { closedPort } from '../helpers/api.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runAs, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

/**
 * launch as issue 10 and issue 9 found it (the built CLI as the throwaway user, the
 * fixture repo, an isolated PM2_HOME): a dry run prints no secret and starts no PM2
 * daemon; a closed stdout is no crash; any network with an explicit endpoint; names
 * with spaces end to end.
 */
const staged = stage();
if (staged.skip) console.log(`launch surface e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

const SECRETS = {
  openai: 'sk-proj-OPENAI-never-print-1234',
  webhook: 'https://hooks.example.com/services/T000/B000/WEBHOOKSECRET42',
  token: 'tok-MY-SERVICE-TOKEN-5678',
  password: 'pa55-w0rd-in-url',
  oauth: 'ya29.OAUTH-ACCESS-TOKEN-9012',
};

interface World {
  root: string;
  setup: AlphaCoreSetup;
  pm2: IsolatedPm2;
  env: Record<string, string>;
  creds: string;
  httpPort: number;
  apiUrl: string;
  configFile: string;
}

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

async function world(): Promise<World> {
  const root = userTempDir(run.user, 'alphacore-launch-surface-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user, behaviour: { version: '3.1.4' } });
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  const env = { ...isolatedEnv(root), ...pm2.env, ...setup.control.env, VALIDATOR_ROUND_LOCKFILE: path.join(root, 'round.lock'), HEALTH_STABLE: '2s' };
  // launch refuses a wallet it cannot find: the ones the tests name, where it looks by default.
  createWallet(homeWallets(env.HOME), 'cold', ['hot']);
  createWallet(homeWallets(env.HOME), "my cold 'wallet'", ['hot key $HOME']);
  await chownTree(root, run.user);
  return { root, setup, pm2, env, creds, httpPort: await closedPort(), apiUrl: 'http://127.0.0.1:8888', configFile: path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', 'alphacore.env') };
}

/** The Validation API first, as on a real machine: the validator refuses to start without it (real launches only). */
async function startApi(w: World): Promise<void> {
  const port = await closedPort();
  const api = await runAs(run.user, '/bin/bash', [path.join(w.setup.deploy, 'scripts/validator/process/launch_validation_api.sh'), '--gcp-creds-file', w.creds, '--port', String(port)], { env: w.env, cwd: w.setup.deploy });
  expect(api.exitCode, String(api.stderr)).toBe(0);
  w.apiUrl = `http://127.0.0.1:${port}`;
}

const launch = (w: World, args: string[], env: Record<string, string> = {}) => runCliAs(run, ['launch', ...args], { env: { ...w.env, ...env }, cwd: w.setup.deploy });
// Each world's validator serves its own free port, never the machine's 8000 (trial defect 19).
const base = (w: World) => ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', w.creds, '--http-port', String(w.httpPort)];

/** Pids of processes whose environment names this PM2_HOME (a PM2 daemon started for it). */
function processesFor(home: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PM2_HOME=${home}`)) found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

e2e('launch --dry-run', () => {
  it('masks every secret in everything it prints: OpenAI key, webhook, *_TOKEN, URL credentials, the environment\'s', async () => {
    const w = await world();
    // An existing config with the operator's own keys, which launch keeps and prints.
    fs.mkdirSync(path.dirname(w.configFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(w.configFile, `NOTIFY_WEBHOOK_URL=${SECRETS.webhook}\nMY_SERVICE_TOKEN=${SECRETS.token}\n`, { mode: 0o600 });
    await chownTree(w.root, run.user);
    const r = await launch(w, [...base(w), '--dry-run', '--validation-api-endpoint', `http://api-user:${SECRETS.password}@127.0.0.1:8888`], {
      OPENAI_API_KEY: SECRETS.openai,
      GOOGLE_OAUTH_ACCESS_TOKEN: SECRETS.oauth,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    for (const [name, secret] of Object.entries(SECRETS)) expect(out, name).not.toContain(secret);
    expect(out).not.toContain('WEBHOOKSECRET42');
    expect(out).toContain('NOTIFY_WEBHOOK_URL=***');
    expect(out).toContain('MY_SERVICE_TOKEN=***');
    expect(out).toContain('ALPHACORE_OPENAI_API_KEY=***');
    expect(out).toContain('http://***@127.0.0.1:8888');
    // Nothing written: the operator's config is as it was.
    expect(fs.readFileSync(w.configFile, 'utf8')).toBe(`NOTIFY_WEBHOOK_URL=${SECRETS.webhook}\nMY_SERVICE_TOKEN=${SECRETS.token}\n`);
  });

  it('probes PM2 without starting a daemon (pm2 --version would start one)', async () => {
    const w = await world();
    const r = await launch(w, [...base(w), '--dry-run', '--disable-llm', '--no-autoupdate']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PM2: \/.*pm2 \(pm2 \d+\.\d+\.\d+\); no daemon runs for PM2_HOME .*; launch would start one$/m);
    expect(fs.existsSync(path.join(w.pm2.home, 'pm2.pid'))).toBe(false);
    expect(fs.existsSync(path.join(w.pm2.home, 'rpc.sock'))).toBe(false);
    expect(processesFor(w.pm2.home)).toEqual([]);
    // PM2_BIN that is not there: said, and still nothing started.
    const missing = await launch(w, [...base(w), '--dry-run', '--disable-llm', '--no-autoupdate'], { PM2_BIN: path.join(w.root, 'no-pm2') });
    expect(missing.stdout).toMatch(/^PM2: NOT USABLE: .*no-pm2 not found or not executable/m);
  });

  it('the branch the timer will follow: a clone without the remote, or without the branch fetched, is warned about with the fix', async () => {
    const w = await world();
    const git = (...args: string[]) => runAs(run.user, 'git', ['-C', w.setup.deploy, ...args], { env: w.env });
    const dry = () => launch(w, [...base(w), '--dry-run', '--disable-llm']);
    const ok = await dry();
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).not.toMatch(/has no remote|has no origin\/release/);
    expect((await git('remote', 'rename', 'origin', 'upstream')).exitCode).toBe(0);
    const noRemote = await dry();
    expect(noRemote.exitCode, noRemote.stderr).toBe(0);
    expect(noRemote.stdout).toContain(`WARNING: the deploy clone ${w.setup.deploy} has no remote origin (REMOTE, default origin): every auto-update run would fail at its fetch. Its remotes: upstream. Set REMOTE=<one of them> in ${w.configFile}`);
    expect((await git('remote', 'rename', 'upstream', 'origin')).exitCode).toBe(0);
    expect((await git('update-ref', '-d', 'refs/remotes/origin/release')).exitCode).toBe(0);
    const unfetched = await dry();
    expect(unfetched.stdout).toContain(`WARNING: the deploy clone has no origin/release yet (never fetched?)`);
    expect(unfetched.stdout).toContain(`git -C ${w.setup.deploy} ls-remote --heads origin release`);
    // A dry run: nothing written.
    expect(fs.existsSync(w.configFile)).toBe(false);
  });

  it('a closed stdout (| head -1, | true) is no EPIPE trace; exit 0', async () => {
    const w = await world();
    const flags = [...base(w), '--dry-run', '--disable-llm', '--no-autoupdate'].map((f) => `'${f}'`).join(' ');
    for (const tail of ['head -1', 'true']) {
      const r = await runAs(run.user, 'bash', ['-c', `'${process.execPath}' '${run.cli}' launch ${flags} | ${tail}; echo "rc=\${PIPESTATUS[0]}" >&2`], { env: w.env, cwd: w.setup.deploy });
      expect(r.stderr, tail).toBe('rc=0');
    }
  });
});

e2e('launch under umask 000', () => {
  it('the env file and the config are 0600 and their folders 0700', async () => {
    const w = await world();
    await startApi(w);
    const args = [...base(w), '--disable-llm', '--no-autoupdate', '--validation-api-endpoint', w.apiUrl];
    const r = await runAs(run.user, 'bash', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, run.cli, 'launch', ...args], { env: w.env, cwd: w.setup.deploy });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const mode = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);
    const envFile = path.join(w.setup.deploy, 'env', 'test', 'validator-cold-hot.env');
    expect([mode(envFile), mode(path.dirname(envFile)), mode(w.configFile), mode(path.dirname(w.configFile))]).toEqual(['600', '700', '600', '700']);
  });
});

e2e('launch: the bash launcher\'s rules for networks and names (issue 9)', () => {
  it('--network mars is accepted with --chain-endpoint; without one it is refused naming --chain-endpoint', async () => {
    const w = await world();
    const args = ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--gcp-creds-file', w.creds, '--disable-llm', '--no-autoupdate', '--dry-run'];
    const ok = await launch(w, [...args, '--network', 'mars', '--chain-endpoint', 'wss://mars.example.org:443']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('ALPHACORE_NETWORK="mars"');
    expect(ok.stdout).toContain('ALPHACORE_CHAIN_ENDPOINT="wss://mars.example.org:443"');
    expect(ok.stdout).toContain(path.join(w.setup.deploy, 'env', 'mars', 'validator-cold-hot.env'));
    const refused = await launch(w, [...args, '--network', 'mars']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--network mars is not one of local, test, finney, so it has no default endpoint: pass --chain-endpoint');
  });

  it('bad netuid, misspelled flag and a name that would break a path: all named at once, exit 2', async () => {
    const w = await world();
    const r = await launch(w, ['--wallet-name', '../x', '--hotkey', 'hot', '--netuid', '99999', '--network', 'test', '--gcp-creds-file', w.creds, '--disable-llm', '--no-autoupdate', '--chian-endpoint', 'ws://x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--netuid 99999 must be a subnet uid, an integer 0-65535.');
    expect(r.stderr).toContain('--chian-endpoint: unknown flag (did you mean --chain-endpoint?)');
    expect(r.stderr).toContain('--wallet-name "../x" contains \'/\'');
    expect(fs.existsSync(path.join(w.setup.deploy, 'env'))).toBe(false);
  });

  it('wallet and hotkey names with spaces: dry run, real launch, and the files a shell sources give them back', async () => {
    const w = await world();
    const wallet = "my cold 'wallet'";
    const hotkey = 'hot key $HOME';
    const args = ['--wallet-name', wallet, '--hotkey', hotkey, '--netuid', '7', '--network', 'test', '--gcp-creds-file', w.creds, '--disable-llm', '--no-autoupdate', '--http-port', String(w.httpPort)];
    const envFile = path.join(w.setup.deploy, 'env', 'test', `validator-${wallet}-${hotkey}.env`);
    const processName = `validator-${hotkey}-test`;

    const dry = await launch(w, [...args, '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`ALPHACORE_WALLET_NAME="${wallet}"`);
    expect(dry.stdout).toContain('ALPHACORE_WALLET_HOTKEY="hot key \\$HOME"');
    expect(dry.stdout).toContain(`WALLET_NAME='my cold '\\''wallet'\\'''`);
    expect(dry.stdout).toContain(`logs: pm2 logs 'validator-hot key $HOME-test'`);

    await startApi(w);
    const real = await launch(w, [...args, '--validation-api-endpoint', w.apiUrl]);
    expect(real.exitCode, real.stderr + real.stdout).toBe(0);
    expect(w.pm2.list().find((p) => p.namespace === 'alphacore' && p.name === processName)).toMatchObject({ status: 'online' });
    // Both files mean the same to bash as to us.
    const sourced = async (file: string, keys: string[]) => {
      const r = await execa('bash', ['-c', `set -eu; source "$1"; shift; for k in "$@"; do printf '%s\\0' "\${!k}"; done`, 'bash', file, ...keys], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      return r.stdout.split('\0').slice(0, -1);
    };
    expect(await sourced(envFile, ['ALPHACORE_WALLET_NAME', 'ALPHACORE_WALLET_HOTKEY'])).toEqual([wallet, hotkey]);
    expect(await sourced(w.configFile, ['WALLET_NAME', 'WALLET_HOTKEY', 'VALIDATOR_PROCESS_NAME'])).toEqual([wallet, hotkey, processName]);
    // And the config reads back through our own parser: status sees a valid config for this validator.
    const st = await runCliAs(run, ['status', '--config', w.configFile, '--json'], { env: w.env });
    expect(st.exitCode, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ config: { state: 'ok', processes: { validator: processName } } });
  });
});

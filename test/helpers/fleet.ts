import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StatusReport } from '../../src/commands/status/report.js';
import { fixtureGit } from './alphacore-fixture.js';
import { closedPort } from './api.js';
import { PROJECT_ROOT, toCliResult } from './cli.js';
import { installFakePython, type FakePython } from './fake-python.js';
import { accountPrefix, makeUser, removeUser } from './fleet-users.js';
import { createWallet, homeWallets } from './wallet.js';
import { isolatedPm2, type IsolatedPm2 } from './pm2.js';
import { createRealOrigin, type RealOrigin } from './real-repo.js';
import { startAdminSsh, type AdminSsh } from './sshd.js';
import { runAs, type StagedRun, type TestUser } from './user.js';

/**
 * A fleet of validator hosts on this machine for the real ansible-playbook (DESIGN.md
 * §13): one throwaway user per host (acf<random>-h1..hN, each with its own HOME, PM2
 * daemon and deploy clone), connection `local` with become, or (`ssh`) through a real
 * sshd as an unprivileged admin with sudo (sshd.ts). The hosts clone one origin
 * of the real AlphaCore repository (real-repo.ts), served by `git daemon` on 127.0.0.1
 * (a network remote, as GitHub is for real fleets); each host has its own fake Python
 * runtime first on PATH (fake-python.ts), the only part that is not real.
 */
export const ANSIBLE_DIR = path.join(PROJECT_ROOT, 'deploy', 'ansible');
/** One ansible-playbook run at most (a site.yml took 22 min at load 36 on a shared 2-core machine; 4 min unloaded); a test running one or two sets its timeout above. */
export const PLAYBOOK_TIMEOUT_MS = 1_800_000;
export const FLEET_TEST_TIMEOUT_MS = 2 * PLAYBOOK_TIMEOUT_MS + 120_000;

export interface FleetHost {
  name: string;
  user: TestUser;
  pm2: IsolatedPm2;
  fake: FakePython;
  apiPort: number;
  configFile: string;
  repoDir: string;
}

export interface PlaybookRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** PLAY RECAP counters per host. */
  recap: Record<string, { ok: number; changed: number; failed: number; skipped: number }>;
}

export interface Fleet {
  root: string;
  origin: RealOrigin;
  hosts: FleetHost[];
  inventory: string;
  /** Through the sshd as its admin, when the fleet was made with `ssh`. */
  ssh?: AdminSsh;
  /** `watch` sees the play's output as it comes (to act at a point of the play). */
  playbook(name: 'site.yml' | 'rollout.yml' | 'unpin.yml', args?: string[], watch?: (soFar: string) => void): Promise<PlaybookRun>;
  status(host: FleetHost): Promise<StatusReport>;
  head(host: FleetHost): string;
  /** The config file's lines of the host (PIN and the keys the role adds). */
  config(host: FleetHost): string[];
  cleanup(): Promise<void>;
}

export function ansibleMissing(): string | undefined {
  try {
    execFileSync('ansible-playbook', ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return undefined;
  } catch {
    return 'ansible-playbook is not installed (Debian package ansible-core; .ci/run installs it)';
  }
}

/**
 * How this machine reaches the npm registry (a proxy, its CA): the hosts install the
 * toolkit's dependencies from it, as an operator's would. npm's cafile lives in the
 * global npmrc of its own prefix, which a user install under ~/.local does not read.
 */
function networkEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'https_proxy', 'http_proxy', 'no_proxy', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'npm_config_registry']) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  try {
    const cafile = execFileSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8', timeout: 30_000 }).trim();
    if (cafile && cafile !== 'null' && cafile !== 'undefined') env.npm_config_cafile = cafile;
  } catch {
    // no npm config to forward
  }
  return env;
}

function parseRecap(stdout: string): PlaybookRun['recap'] {
  const recap: PlaybookRun['recap'] = {};
  const at = stdout.lastIndexOf('PLAY RECAP');
  for (const line of stdout.slice(at).split('\n')) {
    const m = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)/.exec(line);
    if (m) recap[m[1]!] = { ok: Number(m[2]), changed: Number(m[3]), failed: Number(m[4]), skipped: Number(m[5]) };
  }
  return recap;
}

/** Secrets as an operator keeps them: a vault file, opened with a password file. */
async function writeVault(dir: string, root: string): Promise<string> {
  const passwordFile = path.join(root, 'vault-password');
  fs.writeFileSync(passwordFile, 'fleet-test-vault-password\n', { mode: 0o600 });
  const vault = path.join(dir, 'group_vars', 'alphacore_validators', 'vault.yml');
  fs.mkdirSync(path.dirname(vault), { recursive: true });
  const creds = JSON.stringify({ type: 'service_account', client_email: 'fleet@proj.iam.gserviceaccount.com', private_key: 'vault-secret-key' });
  fs.writeFileSync(vault, `alphacore_gcp_creds_json: '${creds}'\n`);
  await execa('ansible-vault', ['encrypt', '--vault-password-file', passwordFile, vault], { env: ansibleEnv(root) });
  return passwordFile;
}

function ansibleEnv(root: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: path.join(root, 'controller'),
    LANG: 'C.UTF-8',
    ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, 'ansible.cfg'),
    ANSIBLE_HOME: path.join(root, 'controller', '.ansible'),
    ANSIBLE_LOCAL_TEMP: path.join(root, 'controller', 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
  };
}

export interface FleetOptions {
  hosts?: number;
  vars?: Record<string, unknown>;
  /** Connect through a real sshd as an unprivileged admin that becomes each host's user. */
  ssh?: { hideSetfacl?: boolean };
}

/**
 * Everything it starts (git daemon, sshd, users, PM2 daemons) is ended by cleanup(), and
 * by createFleet itself when it fails half-way (no fleet to clean up then).
 */
export async function createFleet(run: StagedRun, options: FleetOptions = {}): Promise<Fleet> {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-fleet-')));
  const prefix = accountPrefix();
  const hosts: FleetHost[] = [];
  let daemon: ChildProcess | undefined;
  let ssh: AdminSsh | undefined;
  const cleanup = async () => {
    for (const host of hosts) {
      host.pm2.kill();
      await removeUser(host.user.name);
    }
    await ssh?.stop();
    if (daemon?.pid && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon!.once('exit', resolve));
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    return await buildFleet(run, options, { root, prefix, hosts, cleanup, started: (d) => (daemon = d), sshUp: (s) => (ssh = s) });
  } catch (error) {
    await cleanup();
    throw error;
  }
}

interface Build {
  root: string;
  prefix: string;
  hosts: FleetHost[];
  cleanup(): Promise<void>;
  started(daemon: ChildProcess): void;
  sshUp(ssh: AdminSsh): void;
}

async function buildFleet(run: StagedRun, options: FleetOptions, b: Build): Promise<Fleet> {
  const { root, hosts } = b;
  fs.chmodSync(root, 0o755); // the users reach their homes below it
  fs.mkdirSync(path.join(root, 'controller', 'tmp'), { recursive: true });
  const origin = createRealOrigin(path.join(root, 'origin'));
  execFileSync('chmod', ['-R', 'a+rX', path.join(root, 'origin')]);
  const gitPort = await closedPort();
  b.started(
    spawn(
      'git',
      ['daemon', '--reuseaddr', '--listen=127.0.0.1', `--port=${gitPort}`, `--base-path=${path.join(root, 'origin')}`, '--export-all', '--informative-errors', path.join(root, 'origin')],
      { stdio: 'ignore', detached: false },
    ),
  );
  const ssh = options.ssh ? await startAdminSsh(root, `${b.prefix}adm`, options.ssh) : undefined;
  if (ssh) b.sshUp(ssh);
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', root], { cwd: PROJECT_ROOT, env: { ...process.env, npm_config_update_notifier: 'false' } });
  const tarball = path.join(root, pack.stdout.trim().split('\n').at(-1)!);
  const version = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  const inventoryHosts: Record<string, Record<string, unknown>> = {};
  for (let i = 1; i <= (options.hosts ?? 3); i++) {
    const name = `h${i}`;
    const home = path.join(root, name);
    const user = await makeUser(`${b.prefix}${name}`, home);
    // launch refuses a wallet or hotkey it cannot find: the host's own, as btcli lays them out.
    createWallet(homeWallets(home), 'cold', [`hot${i}`]);
    execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, path.join(home, '.bittensor')]);
    const pm2 = isolatedPm2(home, { packageRoot: run.packageRoot, owner: user });
    const fake = installFakePython(path.join(home, 'python'));
    const apiPort = await closedPort();
    const repoDir = path.join(home, 'AlphaCore');
    hosts.push({ name, user, pm2, fake, apiPort, repoDir, configFile: path.join(home, '.config', 'alphacore', 'autoupdate', 'alphacore.env') });
    inventoryHosts[name] = {
      alphacore_user: user.name,
      alphacore_hotkey: `hot${i}`,
      alphacore_api_port: apiPort,
      alphacore_http_port: await closedPort(),
      // launch's own health wait reads these before any config exists.
      alphacore_environment: { PM2_HOME: pm2.home, HEALTH_STABLE: '2s', HEALTH_TIMEOUT: '40s', ...networkEnv() },
      alphacore_extra_path: [fake.bin, path.join(run.packageRoot, 'node_modules', '.bin')],
    };
  }
  const inventoryDir = path.join(root, 'inventory');
  fs.mkdirSync(inventoryDir);
  const inventory = path.join(inventoryDir, 'hosts.yml');
  const groupVars = {
    ...(ssh ? ssh.vars : { ansible_connection: 'local' }),
    ansible_python_interpreter: '/usr/bin/python3',
    alphacore_package: tarball,
    // The fleet's own: the hosts of two test files share this machine.
    alphacore_package_cache: path.join(root, 'package-cache'),
    alphacore_version: version,
    alphacore_repo_url: `git://127.0.0.1:${gitPort}/origin.git`,
    alphacore_branch: origin.branch,
    alphacore_wallet_name: 'cold',
    alphacore_netuid: 7,
    alphacore_network: 'test',
    alphacore_disable_llm: true,
    // No timer in tests: a cron daemon another test starts would run these users' lines.
    alphacore_autoupdate: false,
    alphacore_config: { HEALTH_STABLE: '2s', HEALTH_TIMEOUT: '40s' },
    canary_unit_seconds: 1,
    canary_minutes: 3,
    alphacore_rollout_poll_seconds: 1,
    // `alphacore status` answers within ~2 s, PM2 included: on a loaded machine its PM2
    // probe may miss that budget and say unknown, so the gate retries for longer here.
    alphacore_rollout_settle_seconds: 180,
    alphacore_rollout_defer_delay: 1,
    ...options.vars,
  };
  fs.writeFileSync(inventory, JSON.stringify({ alphacore_validators: { hosts: inventoryHosts, vars: groupVars } }, null, 2));
  const passwordFile = await writeVault(inventoryDir, root);

  const fleet: Fleet = {
    root,
    origin,
    hosts,
    inventory,
    ...(ssh ? { ssh } : {}),
    async playbook(name, args = [], watch) {
      const running = execa('ansible-playbook', ['-i', inventory, '--vault-password-file', passwordFile, path.join(ANSIBLE_DIR, name), ...args], {
        env: ansibleEnv(root),
        extendEnv: false,
        cwd: root,
        reject: false,
        // Below the tests' own timeout: a play that hangs is ended, never left running
        // beside the next test's.
        timeout: PLAYBOOK_TIMEOUT_MS,
        stdin: 'ignore',
        // FLEET_DEBUG=1 shows the play as it runs.
        stdout: process.env.FLEET_DEBUG ? ['pipe', 'inherit'] : 'pipe',
      });
      let soFar = '';
      running.stdout?.on('data', (chunk: Buffer) => {
        soFar += chunk.toString();
        watch?.(soFar);
      });
      const child = await running;
      const stdout = String(child.stdout);
      return { exitCode: child.exitCode ?? -1, stdout, stderr: String(child.stderr), recap: parseRecap(stdout) };
    },
    async status(host) {
      const cli = path.join(host.user.home, '.local', 'bin', 'alphacore');
      const r = toCliResult(
        await runAs(host.user, cli, ['status', '--config', host.configFile, '--json'], {
          env: { HOME: host.user.home, PATH: [path.join(host.user.home, '.local', 'bin'), host.fake.bin, path.join(run.packageRoot, 'node_modules', '.bin'), '/usr/bin:/bin'].join(':'), PM2_HOME: host.pm2.home, NO_COLOR: '1' },
        }),
      );
      return JSON.parse(r.stdout) as StatusReport;
    },
    head: (host) => fixtureGit(host.repoDir, 'rev-parse', 'HEAD'),
    config: (host) => fs.readFileSync(host.configFile, 'utf8').split('\n'),
    cleanup: b.cleanup,
  };
  return fleet;
}

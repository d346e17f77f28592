#!/usr/bin/env node
// `npm run demo`: the whole story on a throwaway AlphaCore-shaped repo, in a temp dir,
// with an isolated PM2 from this project's dependencies. launch -> a new release
// deferred by a running round -> updated -> a broken release rolled back and
// quarantined -> status. Then everything it started is stopped, by pid, and removed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installRuntime } from '../test/helpers/fake-python/install.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'alphacore.js');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'alphacore-repo');
const bold = (s) => (process.stdout.isTTY && !('NO_COLOR' in process.env) ? `\x1b[1m${s}\x1b[0m` : s);

if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
  console.error('npm run demo: the CLI is not built; run `npm ci` (or `npm run build`) first.');
  process.exit(2);
}
if (process.getuid?.() === 0) {
  const { demoAsThrowawayUser } = await import('./demo-as-root.mjs');
  process.exit(demoAsThrowawayUser(ROOT));
}

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-demo-')));
const home = path.join(tmp, 'home');
const control = path.join(tmp, 'control');
const pm2Home = path.join(tmp, 'pm2');
for (const dir of [home, control, pm2Home]) fs.mkdirSync(dir, { recursive: true });
// The update prepares venvs with `python3 -m venv` and pip before it stops anything: in the
// demo, the tests' fake Python runtime, whose venvs' python runs the fixture's stub services.
// Installed inside the try below, so that a failure there still removes tmp.
const pyDir = path.join(tmp, 'python');
const pyBin = path.join(pyDir, 'bin');
const env = {
  // Short health windows so the demo takes seconds.
  HEALTH_STABLE: '2s',
  PATH: [pyBin, path.join(ROOT, 'node_modules', '.bin'), path.dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
  HOME: home,
  USER: os.userInfo().username,
  LANG: 'C.UTF-8',
  NO_COLOR: '1',
  XDG_CONFIG_HOME: path.join(home, '.config'),
  XDG_STATE_HOME: path.join(home, '.local', 'state'),
  PM2_HOME: pm2Home,
  ALPHACORE_FIXTURE_CONTROL: control,
};
const gitEnv = { PATH: env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' };

/** The files launch checks for a wallet and hotkey (btcli's layout), with placeholder content. */
function fakeWallet(wallets, name, hotkey) {
  fs.mkdirSync(path.join(wallets, name, 'hotkeys'), { recursive: true });
  fs.writeFileSync(path.join(wallets, name, 'coldkeypub.txt'), '{"ss58Address": "demo"}\n');
  fs.writeFileSync(path.join(wallets, name, 'hotkeys', hotkey), '{"ss58Address": "demo"}\n', { mode: 0o600 });
}
const git = (cwd, ...args) =>
  execFileSync('git', ['-c', 'user.name=Demo', '-c', 'user.email=demo@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, env: gitEnv, encoding: 'utf8', stdio: 'pipe' }).trim();

function copyTree(from, to) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      fs.mkdirSync(dst, { recursive: true });
      copyTree(src, dst);
    } else fs.copyFileSync(src, dst);
  }
}

const author = path.join(tmp, 'author');
const bare = path.join(tmp, 'origin.git');
const deploy = path.join(tmp, 'AlphaCore');
function release(version, behaviour = {}) {
  copyTree(FIXTURE, author);
  fs.writeFileSync(path.join(author, 'VERSION'), `${version}\n`);
  fs.writeFileSync(path.join(author, 'fixture', 'behaviour.json'), `${JSON.stringify({ validator: 'ok', api: 'ok', slowMs: 3000, ...behaviour }, null, 2)}\n`);
  git(author, 'add', '-A');
  git(author, 'commit', '-q', '--allow-empty', '-m', `release ${version}`);
  git(author, 'push', '-q', '--force', 'origin', 'HEAD:release');
  return git(author, 'rev-parse', '--short', 'HEAD');
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function alphacore(title, args, cwd = home) {
  console.log(`\n${bold(`==> ${title}`)}\n$ alphacore ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 180_000 });
  const out = `${r.stdout}${r.stderr}`.trim().replaceAll(tmp, '$DEMO');
  console.log(out.split('\n').map((l) => `  ${l}`).join('\n'));
  console.log(`  (exit ${r.status})`);
  return r.status;
}

function stopPm2() {
  // Only the daemon this demo started, by its pid, and its children (the stub services).
  let pid;
  try {
    pid = Number(fs.readFileSync(path.join(pm2Home, 'pm2.pid'), 'utf8'));
  } catch {
    return;
  }
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const doomed = [pid];
  for (let i = 0; i < doomed.length; i += 1) for (const [child, parent] of table) if (parent === doomed[i]) doomed.push(child);
  for (const p of doomed) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const started = Date.now();
let failed = false;
try {
  console.log(bold(`alphacore demo in ${tmp} (isolated HOME and PM2_HOME; your own PM2 and files are not touched)`));
  installRuntime(pyDir);
  git(tmp, 'init', '-q', '--bare', '--initial-branch=release', bare);
  git(tmp, 'init', '-q', '--initial-branch=release', author);
  git(author, 'remote', 'add', 'origin', bare);
  const v1 = release('1.0.0');
  git(tmp, 'clone', '-q', '--branch', 'release', bare, deploy);
  execFileSync(path.join(pyBin, 'python3'), ['-m', 'venv', path.join(deploy, 'venv')], { stdio: 'ignore' });
  fs.appendFileSync(path.join(deploy, '.git', 'info', 'exclude'), 'venv/\nenv/\n');
  const creds = path.join(tmp, 'service-account.json');
  fs.writeFileSync(creds, '{"client_email":"demo-validator@demo-project.iam.gserviceaccount.com"}\n');
  const port = await freePort();
  // The validator's task-generation API gets a free port too: on a validator machine the
  // default 8000 is the real validator's (EADDRINUSE for one or the other).
  const httpPort = await freePort();
  const roundLock = path.join(tmp, 'round.lock');
  // A wallet where launch looks for it (public placeholders: the stub validator reads no key).
  fakeWallet(path.join(home, '.bittensor', 'wallets'), 'demo', 'demo-hot');
  console.log(`An AlphaCore-shaped repo with stub services; release ${v1} (VERSION 1.0.0) is deployed in $DEMO/AlphaCore.`);

  // As on a real machine: the Validation API first (the validator refuses to start without it).
  const api = spawnSync('bash', [path.join(deploy, 'scripts', 'validator', 'process', 'launch_validation_api.sh'), '--gcp-creds-file', creds, '--port', String(port)], { cwd: deploy, env, encoding: 'utf8', timeout: 60_000 });
  if (api.status !== 0) throw new Error(`launch_validation_api.sh failed: ${api.stderr}`);
  console.log(`The Validation API (stub) runs under PM2 on 127.0.0.1:${port}, started by the repo's launch_validation_api.sh.`);

  const launchArgs = [
    'launch', '--wallet-name', 'demo', '--hotkey', 'demo-hot', '--netuid', '66', '--network', 'test', '--gcp-creds-file', creds,
    '--validation-api-endpoint', `http://127.0.0.1:${port}`, '--round-lockfile', roundLock, '--http-port', String(httpPort), '--disable-llm', '--no-autoupdate',
  ];
  if (alphacore('1. launch the validator under PM2 (namespace alphacore)', launchArgs, deploy) !== 0) throw new Error('launch failed');
  const config = path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', 'alphacore.env');
  // Short health windows so the demo takes seconds (the stub API's port comes from the endpoint).
  fs.appendFileSync(config, `HEALTH_STABLE=2s\nHEALTH_TIMEOUT=20s\n`);

  const v2 = release('1.1.0');
  fs.writeFileSync(path.join(control, 'hold-round-lock'), '{"round_id":"demo-round-7","block":4242}');
  for (let i = 0; i < 50 && !fs.existsSync(roundLock); i += 1) await new Promise((r) => setTimeout(r, 100));
  alphacore(`2. release ${v2} (1.1.0) is pushed while the validator runs a round: the update waits`, ['update', '--config', config]);

  fs.rmSync(path.join(control, 'hold-round-lock'));
  for (let i = 0; i < 50 && fs.existsSync(roundLock); i += 1) await new Promise((r) => setTimeout(r, 100));
  alphacore('3. the round is over: the next run updates (API first, then the validator, health-checked)', ['update', '--config', config]);

  const v3 = release('2.0.0', { validator: 'crash' });
  alphacore(`4. release ${v3} (2.0.0) crashes at start: the update rolls back to 1.1.0`, ['update', '--config', config]);
  alphacore(`5. ${v3} is quarantined: later runs skip it until the branch moves`, ['update', '--config', config]);
  alphacore('6. the operator\'s view', ['status', '--config', config]);
} catch (error) {
  failed = true;
  console.error(`demo failed: ${error.message}`);
} finally {
  stopPm2();
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`\n${bold('Cleaned up')}: the demo's PM2 daemon and services are stopped, ${tmp} is removed (${((Date.now() - started) / 1000).toFixed(1)} s).`);
}
process.exit(failed ? 1 : 0);

import { execa } from 'execa';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../helpers/api.js';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { installFakePython } from '../helpers/fake-python.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { createRealOrigin, realRepoSkip } from '../helpers/real-repo.js';
import { chownTree, runAs, stage, type StagedRun } from '../helpers/user.js';
import { holdMachineState } from './scheduler-harness.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

/**
 * The README from nothing to a running validator and back (issue 12), as the
 * throwaway user with a temp HOME and no root: `npm pack` the project (root), install
 * the tarball and PM2 into the user's npm prefix (~/.local, from the registry), clone
 * the real AlphaCore repository (from the bundle), start the Validation API with the
 * repo's own script, `alphacore launch`, `status`, `logs`, `uninstall`, and find
 * nothing left but the clone with its env file and venv. Only Python is faked.
 */
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
if (staged.skip) console.log(`walkthrough e2e test skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;

const README = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
const VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const PM2_VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.pm2!;
// The machine's own network settings (a proxy, its CA), so npm reaches the registry as root does.
const NETWORK_ENV = ['NODE_EXTRA_CA_CERTS', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy'];

let root = '';
let home = '';
let env: Record<string, string> = {};
let pm2: IsolatedPm2 | undefined;
let installSkip: string | undefined;
/** npm's machine-wide config file (where a company CA or proxy lives), before the README's lines. */
let machineNpmrc = '';
let savedCrontab: string | undefined;
const ns = `wt-${crypto.randomBytes(3).toString('hex')}`;

/** Runs a line of shell as the user, with ~/.local/bin on PATH as the README's PATH line puts it. */
const sh = (line: string, timeoutMs = 240_000) => runAs(run.user, '/bin/bash', ['-c', `export PATH="$HOME/.local/bin:$PATH"\n${line}`], { env, cwd: home, timeoutMs });

/** Every file (not folder) under dir, relative, skipping the given top-level entries. */
function files(dir: string, skipTop: string[] = [], rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (!rel && skipTop.includes(e.name)) continue;
    if (e.isDirectory()) out.push(...files(dir, skipTop, r));
    else out.push(r);
  }
  return out.sort();
}

// The throwaway user's crontab is shared with the scheduler, migration and uninstall files.
let releaseCrontab: (() => Promise<void>) | undefined;
let releaseManager: (() => Promise<void>) | undefined;
beforeAll(async () => {
  if (skip) return;
  releaseCrontab = await holdMachineState('crontab');
  // No systemd user manager of the throwaway user may run meanwhile: launch would find it and install a timer.
  releaseManager = await holdMachineState('user-manager');
  root = fs.realpathSync(fs.mkdtempSync('/tmp/alphacore-walkthrough-'));
  fs.chmodSync(root, 0o755);
  home = path.join(root, 'home');
  fs.mkdirSync(home);
  // The project as an operator gets it: a tarball (`npm pack`; dist/ is built already).
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', root], { cwd: PROJECT_ROOT, reject: false, timeout: 120_000 });
  if (packed.exitCode !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const origin = createRealOrigin(path.join(root, 'origin'));
  const fake = installFakePython(path.join(root, 'python'));
  pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  fs.writeFileSync(path.join(home, 'sa.json'), JSON.stringify({ client_email: 'walkthrough@proj.iam.gserviceaccount.com' }));
  // The operator's wallet, where launch looks by default (it refuses one it cannot find).
  createWallet(homeWallets(home), 'cold', ['hot']);
  await chownTree(root, run.user);
  env = {
    HOME: home,
    USER: run.user.name,
    LOGNAME: run.user.name,
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    // Node where Debian puts it; the fake Python first; no XDG_RUNTIME_DIR, so the timer is a crontab line.
    PATH: `${fake.bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
    PM2_HOME: pm2.home,
    HEALTH_STABLE: '2s',
    ORIGIN: origin.bare,
    TARBALL: path.join(root, `alphacore-launcher-${VERSION}.tgz`),
  };
  for (const k of NETWORK_ENV) if (process.env[k]) env[k] = process.env[k]!;
  const crontab = await runAs(run.user, 'crontab', ['-l'], { env: { HOME: home, PATH: '/usr/bin:/bin' } });
  savedCrontab = crontab.exitCode === 0 && String(crontab.stdout) ? `${String(crontab.stdout)}\n` : undefined;

  // README, "Install": the machine's npmrc pinned, a user prefix, the PATH line, the tarball and PM2 in one npm install.
  machineNpmrc = String((await sh('npm config get globalconfig')).stdout).trim();
  const install = await sh(
    [
      'npm config set globalconfig "$(npm config get globalconfig)"',
      'npm config set prefix ~/.local',
      'npm install -g --fetch-retries=1 --fetch-timeout=60000 --no-fund --no-audit "$TARBALL" pm2@' + PM2_VERSION,
    ].join('\n'),
    300_000,
  );
  if (install.exitCode !== 0) {
    const out = `${install.stdout}\n${install.stderr}`;
    if (/ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|CERT|network/i.test(out)) installSkip = `the npm registry is not reachable: ${out.trim().split('\n').at(-1)}`;
    else throw new Error(`npm install -g failed:\n${out}`);
  }
}, 600_000);

afterAll(async () => {
  if (skip) return;
  pm2?.kill();
  // The user's crontab as it was (uninstall already removed our line unless the test failed first).
  const asUser = { uid: run.user.uid, gid: run.user.gid, env: { HOME: home, PATH: '/usr/bin:/bin' }, extendEnv: false, reject: false, timeout: 10_000 };
  if (savedCrontab !== undefined) await execa('crontab', ['-'], { ...asUser, input: savedCrontab });
  else await execa('crontab', ['-r'], { ...asUser, stdin: 'ignore' });
  if (root) fs.rmSync(root, { recursive: true, force: true });
  await releaseManager?.();
  await releaseCrontab?.();
});

describe.skipIf(skip)('walkthrough: README from git clone to a running validator and back, as an ordinary user', () => {
  it('installs into the user\'s npm prefix without root: alphacore and pm2 on PATH from ~/.local/bin', async (t) => {
    if (installSkip) {
      console.log(`skipped: ${installSkip}`);
      t.skip();
    }
    for (const line of [
      'npm config set globalconfig "$(npm config get globalconfig)"',
      'npm config set prefix ~/.local',
      'export PATH="$HOME/.local/bin:$PATH"',
      'npm install -g --fetch-retries=1 --fetch-timeout=60000 ./alphacore-launcher-*.tgz pm2',
      'alphacore --version && command -v pm2',
    ]) expect(README).toContain(line);
    // The prefix moved, the machine's npmrc did not: npm still reads its CA and proxy settings.
    expect(machineNpmrc).toMatch(/\/etc\/npmrc$/);
    expect(machineNpmrc.startsWith(path.join(home, '.local'))).toBe(false);
    expect(String((await sh('npm config get globalconfig; npm config get prefix')).stdout).split('\n')).toEqual([machineNpmrc, path.join(home, '.local')]);
    // pm2 prints its banner (and starts its daemon) on a first call: its last line is the version.
    const r = await sh('command -v alphacore pm2; alphacore --version; pm2 --version | tail -n 1');
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).split('\n')).toEqual([path.join(home, '.local', 'bin', 'alphacore'), path.join(home, '.local', 'bin', 'pm2'), VERSION, PM2_VERSION]);
    // Every doc the --help texts point at is in the installed package.
    const help = await sh('for c in launch status autoupdate; do alphacore $c --help; done');
    const named = [...new Set(String(help.stdout).match(/docs\/[a-z-]+\.md/g))];
    expect(named.length).toBeGreaterThan(0);
    const installed = path.join(home, '.local', 'lib', 'node_modules', 'alphacore-launcher');
    for (const doc of named) expect(fs.existsSync(path.join(installed, doc)), doc).toBe(true);
  });

  it('clone, API, launch, status, logs, uninstall: nothing left but the clone, its env file and venv', async (t) => {
    if (installSkip) t.skip();
    expect(README).toContain('git clone -b release https://github.com/AlphaCoreBittensor/alphacore ~/AlphaCore');
    const clone = await sh('git clone -q -b release "$ORIGIN" ~/AlphaCore');
    expect(clone.exitCode, String(clone.stderr)).toBe(0);
    const before = files(home, ['AlphaCore']);
    const deploy = path.join(home, 'AlphaCore');
    const [apiPort, httpPort] = [await closedPort(), await closedPort()];

    // The Validation API first, with the repo's own script (the validator refuses to start without it).
    expect(README).toContain('bash scripts/validator/process/launch_validation_api.sh --gcp-creds-file ~/sa.json');
    const api = await sh(`cd ~/AlphaCore && bash scripts/validator/process/launch_validation_api.sh --gcp-creds-file ~/sa.json --port ${apiPort} --pm2-namespace ${ns}`);
    expect(api.exitCode, String(api.stdout) + String(api.stderr)).toBe(0);

    const flags = `--wallet-name cold --hotkey hot --netuid 66 --network test --gcp-creds-file ~/sa.json --disable-llm --pm2-namespace ${ns} --validation-api-endpoint http://127.0.0.1:${apiPort} --http-port ${httpPort}`;
    const dry = await sh(`cd ~/AlphaCore && alphacore launch ${flags} --dry-run`);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    expect(files(home, ['AlphaCore'])).toEqual(before);
    const launch = await sh(`cd ~/AlphaCore && alphacore launch ${flags}`);
    expect(launch.exitCode, String(launch.stdout) + String(launch.stderr)).toBe(0);
    expect(String(launch.stdout)).toContain('Installed the crontab line');
    // The real repository's sandbox setup: sudo asks this user for a password, so launch names the README's rule.
    const rule = `${run.user.name} ALL=(root) NOPASSWD: /usr/bin/bash ${deploy}/modules/evaluation/validation/sandbox/setup.sh`;
    expect(String(launch.stdout)).toContain(rule);
    expect(README).toContain('echo "$USER ALL=(root) NOPASSWD: /usr/bin/bash $HOME/AlphaCore/modules/evaluation/validation/sandbox/setup.sh"');

    const status = await sh(`alphacore status --namespace ${ns} --json`);
    expect(status.exitCode, String(status.stderr)).toBe(0);
    const report = JSON.parse(String(status.stdout)) as { namespace: string; scheduler: { kind: string } };
    expect(report).toMatchObject({ namespace: ns, scheduler: { kind: 'cron' } });
    // PM2's own view (status asks PM2 within a 2 s budget, which a loaded machine may exceed).
    expect(pm2!.list().filter((p) => p.namespace === ns).map((p) => [p.name, p.status]).sort()).toEqual([['alphacore-validation-api', 'online'], ['validator-hot-test', 'online']]);

    const logs = await sh(`alphacore logs --namespace ${ns} --lines 5`);
    expect(logs.exitCode, String(logs.stderr)).toBe(0);
    for (const header of ['==> updater:', '==> alphacore-validation-api out:', '==> validator-hot-test err:']) expect(String(logs.stdout)).toContain(header);
    expect(String(logs.stdout)).toContain('[launch]');

    expect(README).toContain('alphacore uninstall');
    const uninstall = await sh(`alphacore uninstall --namespace ${ns} --yes`);
    expect(uninstall.exitCode, String(uninstall.stdout) + String(uninstall.stderr)).toBe(0);
    expect(String(uninstall.stdout)).toContain(`deploy clone: ${deploy}`);

    // Back to a clean machine: no process, no crontab line, no config or state; the clone stays.
    expect(pm2!.list().filter((p) => p.namespace === ns)).toEqual([]);
    expect(String((await sh('crontab -l || true')).stdout)).not.toContain(ns);
    expect(files(home, ['AlphaCore'])).toEqual(before);
    for (const dir of ['.config/alphacore', '.local/state/alphacore']) expect(fs.existsSync(path.join(home, dir)), dir).toBe(false);
    expect(fs.existsSync(path.join(deploy, 'env', 'test', 'validator-cold-hot.env'))).toBe(true);
    expect(fs.existsSync(path.join(deploy, 'venv', 'bin', 'activate'))).toBe(true);
    expect(String((await sh('git -C ~/AlphaCore status --porcelain --untracked-files=no')).stdout)).toBe('');
  }, 600_000);
});

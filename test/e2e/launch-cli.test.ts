import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlphaCoreSetup, type AlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { closedPort } from '../helpers/api.js';
import { runCli } from '../helpers/cli.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runAs, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { until } from '../helpers/poll.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

const staged = stage();
if (staged.skip) console.log(`launch e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

interface World {
  setup: AlphaCoreSetup;
  apiUrl: string;
  httpPort: number;
  pm2: IsolatedPm2;
  env: Record<string, string>;
  creds: string;
  envFile: string;
  configFile: string;
}

let daemons: IsolatedPm2[] = [];
afterEach(() => {
  // Before the user's temp dirs go: the daemon lives in one.
  for (const d of daemons.splice(0)) d.kill();
});

async function world(options: { api?: boolean } = {}): Promise<World> {
  const root = userTempDir(run.user, 'alphacore-launch-e2e-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user, behaviour: { version: '3.1.4' } });
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  const env = {
    ...isolatedEnv(root),
    ...pm2.env,
    ...setup.control.env,
    OPENAI_API_KEY: 'sk-e2e-from-env',
    VALIDATOR_ROUND_LOCKFILE: path.join(root, 'round.lock'),
    HEALTH_STABLE: '2s',
  };
  createWallet(homeWallets(env.HOME), 'cold', ['hot']);
  await chownTree(root, run.user);
  // The Validation API first, as on a real machine: the validator refuses to start without it.
  const apiPort = await closedPort();
  if (options.api !== false) {
    const api = await runAs(run.user, '/bin/bash', [path.join(setup.deploy, 'scripts/validator/process/launch_validation_api.sh'), '--gcp-creds-file', creds, '--port', String(apiPort)], { env, cwd: setup.deploy });
    expect(api.exitCode, String(api.stderr)).toBe(0);
  }
  return {
    setup,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    httpPort: await closedPort(),
    pm2,
    env,
    creds,
    envFile: path.join(setup.deploy, 'env', 'test', 'validator-cold-hot.env'),
    configFile: path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', 'alphacore.env'),
  };
}

// Each world's validator serves its own free port, never the machine's 8000 (trial defect 19).
const flags = (w: World, ...more: string[]) => [
  'launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', w.creds, '--validation-api-endpoint', w.apiUrl, '--no-autoupdate',
  ...(more.includes('--http-port') ? [] : ['--http-port', String(w.httpPort)]), ...more,
];
const launch = (w: World, args: string[]) => runCliAs(run, args, { env: w.env, cwd: w.setup.deploy });
const mode = (file: string) => fs.statSync(file).mode & 0o777;

// Each launch starts the API first and waits for a healthy validator.
e2e('alphacore launch (built CLI, as a non-root user, real pm2, fixture repo)', { timeout: 180_000 }, () => {
  it('starts the validator online in its namespace through the wrapper; another namespace is untouched', async () => {
    const w = await world();
    const bystanderScript = path.join(w.setup.root, 'bystander.sh');
    fs.writeFileSync(bystanderScript, '#!/usr/bin/env bash\nexec sleep 600\n', { mode: 0o755 });
    fs.chownSync(bystanderScript, run.user.uid, run.user.gid);
    w.pm2.pm2('start', bystanderScript, '--name', 'validator-hot-test', '--namespace', 'other');
    const bystander = w.pm2.list().find((p) => p.namespace === 'other')!;

    const result = await launch(w, flags(w));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('pm2 logs validator-hot-test');

    const start = await until(() => w.setup.control.validatorStarts()[0]);
    expect(start.env).toMatchObject({
      ENV_FILE: w.envFile,
      VENV_DIR: path.join(w.setup.deploy, 'venv'),
      ENTRYPOINT: 'scripts/start_validator.py',
      ALPHACORE_ROUND_LOCKFILE: w.env.VALIDATOR_ROUND_LOCKFILE,
      ALPHACORE_NETUID: '7',
      ALPHACORE_VALIDATOR_SA: 'e2e@proj.iam.gserviceaccount.com',
      ALPHACORE_VALIDATOR_VERSION: '3.1.4',
      VIRTUAL_ENV: path.join(w.setup.deploy, 'venv'),
    });
    const mine = w.pm2.list().filter((p) => p.namespace === 'alphacore');
    expect(mine.map((p) => [p.name, p.status])).toEqual([['alphacore-validation-api', 'online'], ['validator-hot-test', 'online']]);
    // A same-named process in another namespace: PM2 would restart that one through the
    // ecosystem file, so launch starts the wrapper directly, with the file's policy.
    expect(result.stdout).toContain('starting the wrapper directly');
    expect(mine[1]).toMatchObject({ maxRestarts: 10, restartDelayMs: 5000, errorLog: path.join(w.setup.deploy, 'logs', 'pm2', 'validator-hot-test.error.log') });
    expect(w.pm2.list().find((p) => p.namespace === 'other')).toMatchObject({ status: 'online', pid: bystander.pid });

    expect(mode(w.envFile)).toBe(0o600);
    expect(fs.readFileSync(w.envFile, 'utf8')).toContain('ALPHACORE_CHAIN_ENDPOINT="wss://testnet-finney.opentensor.io:443"\n');
    expect(mode(w.configFile)).toBe(0o600);
    expect(mode(path.dirname(w.configFile))).toBe(0o700);
    expect(fs.readFileSync(w.configFile, 'utf8')).toContain(`REPO_DIR=${w.setup.deploy}\n`);
    expect(fs.readFileSync(path.join(w.pm2.home, 'dump.pm2'), 'utf8')).toContain('validator-hot-test');
  });

  it('the same flags twice change nothing; other flags update in place and replace the process, never duplicate it', async () => {
    const w = await world();
    expect((await launch(w, flags(w))).exitCode).toBe(0);
    const first = { env: fs.readFileSync(w.envFile, 'utf8'), config: fs.readFileSync(w.configFile, 'utf8'), envMtime: fs.statSync(w.envFile).mtimeMs, configMtime: fs.statSync(w.configFile).mtimeMs };
    const proc = await until(() => w.pm2.list().find((p) => p.name === 'validator-hot-test' && p.status === 'online'));

    const again = await launch(w, flags(w));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('left running');
    expect(fs.readFileSync(w.envFile, 'utf8')).toBe(first.env);
    expect(fs.readFileSync(w.configFile, 'utf8')).toBe(first.config);
    expect([fs.statSync(w.envFile).mtimeMs, fs.statSync(w.configFile).mtimeMs]).toEqual([first.envMtime, first.configMtime]);
    expect(w.pm2.list().filter((p) => p.name === 'validator-hot-test').map((p) => p.pid)).toEqual([proc.pid]);

    const changed = await launch(w, flags(w, '--http-port', '8124', '--disable-llm'));
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(fs.readFileSync(w.envFile, 'utf8')).toContain('ALPHACORE_HTTP_PORT="8124"');
    expect(fs.readFileSync(w.configFile, 'utf8')).toMatch(/VALIDATOR_EXTRA_ARGS=.*--disable-llm/);
    const after = w.pm2.list().filter((p) => p.name === 'validator-hot-test');
    expect(after).toHaveLength(1);
    expect(after[0]!.pid).not.toBe(proc.pid);
    const latest = await until(() => w.setup.control.validatorStarts().find((s) => s.env.ALPHACORE_HTTP_PORT === '8124'));
    expect(latest.env.ALPHACORE_ENABLE_LLM).toBe('false');
  });

  it('a launch that fails after starting the validator (API unreachable: it crash-loops) removes it, says so, and touches nothing else', async () => {
    const w = await world({ api: false });
    const sleeper = path.join(w.setup.root, 'neighbour.sh');
    fs.writeFileSync(sleeper, '#!/usr/bin/env bash\nexec sleep 600\n', { mode: 0o755 });
    fs.chownSync(sleeper, run.user.uid, run.user.gid);
    w.pm2.pm2('start', sleeper, '--name', 'neighbour', '--namespace', 'alphacore');
    w.pm2.pm2('start', sleeper, '--name', 'bystander', '--namespace', 'other');
    const before = w.pm2.list().map((p) => [p.name, p.pid]);
    const result = await launch(w, flags(w));
    expect(result.exitCode, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain('The validator did not become healthy');
    expect(result.stderr).toContain('Removed the PM2 process it started, validator-hot-test (namespace alphacore); no other process was touched.');
    // It was started (and crashed: the API is unreachable), then removed; the others run on.
    expect(w.setup.control.validatorStarts().length).toBeGreaterThan(0);
    expect(w.pm2.list().map((p) => [p.name, p.pid])).toEqual(before);
    expect(fs.existsSync(w.configFile)).toBe(false);
  });

  it('bad flags: exit 2, every problem listed, nothing written or started', async () => {
    const w = await world({ api: false });
    const result = await launch(w, ['launch', '--netuid', 'seven', '--network', 'mainnet', '--http-port', 'x', '--no-autoupdate']);
    expect(result.exitCode).toBe(2);
    for (const flag of ['--wallet-name', '--hotkey', '--netuid seven', '--network mainnet', '--http-port x']) expect(result.stderr).toContain(flag);
    expect(fs.existsSync(path.join(w.setup.deploy, 'env'))).toBe(false);
    expect(fs.existsSync(path.dirname(w.configFile))).toBe(false);
    expect(fs.existsSync(path.join(w.pm2.home, 'pm2.pid'))).toBe(false);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const w = await world({ api: false });
    const result = await launch(w, flags(w, '--dry-run', '--openai-api-key', 'sk-do-not-print'));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(w.envFile);
    expect(result.stdout).toContain(w.configFile);
    expect(result.stdout).toContain('ALPHACORE_OPENAI_API_KEY="***"');
    expect(result.stdout).not.toContain('sk-do-not-print');
    expect(fs.existsSync(w.envFile)).toBe(false);
    expect(fs.existsSync(w.configFile)).toBe(false);
    expect(w.pm2.list()).toEqual([]);
  });

  it('a wallet or hotkey typo: exit 2 naming the path looked at and the fix, with the other bad flags; nothing written or started', async () => {
    const w = await world({ api: false });
    const wallets = path.join(w.env.HOME, '.bittensor', 'wallets');
    const args = flags(w, '--netuid', 'seven').map((a) => (a === 'hot' ? 'hto' : a));
    const r = await launch(w, args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--hotkey hto: wallet cold has no such hotkey (looked for ${wallets}/cold/hotkeys/hto) (did you mean hot?).`);
    expect(r.stderr).toContain('btcli wallet new_hotkey --wallet.name cold --wallet.hotkey hto');
    expect(r.stderr).toContain('--netuid seven');
    const cold = await launch(w, flags(w).map((a) => (a === 'cold' ? 'clod' : a)));
    expect(cold.exitCode).toBe(2);
    expect(cold.stderr).toContain(`--wallet-name clod: no wallet "clod" in ${wallets} (did you mean cold?) (looked for ${wallets}/clod/coldkeypub.txt)`);
    expect(fs.existsSync(path.join(w.setup.deploy, 'env'))).toBe(false);
    expect(fs.existsSync(path.join(w.pm2.home, 'pm2.pid'))).toBe(false);
  });

  it('with auto-update, the dry run names the sudoers line the sandbox setup needs (sudo asks this user for a password); SANDBOX_SETUP=never: not', async () => {
    const w = await world({ api: false });
    const args = flags(w, '--dry-run', '--disable-llm').filter((a) => a !== '--no-autoupdate');
    const r = await launch(w, args);
    expect(r.exitCode, r.stderr).toBe(0);
    const script = path.join(w.setup.deploy, 'modules/evaluation/validation/sandbox/setup.sh');
    expect(r.stdout).toContain('WARNING: sudo would ask for a password to run the sandbox setup (');
    expect(r.stdout).toContain(`sudo visudo -f /etc/sudoers.d/alphacore-sandbox\`: ${run.user.name} ALL=(root) NOPASSWD: /usr/bin/bash ${script} (and run the one-time sandbox setup first`);
    const never = await runCliAs(run, args, { env: { ...w.env, SANDBOX_SETUP: 'never' }, cwd: w.setup.deploy });
    expect(never.exitCode, never.stderr).toBe(0);
    expect(never.stdout).not.toContain('NOPASSWD');
  });

  it('--dry-run refuses a second validator in the namespace as the real run does (exit 2, --json too); --replace passes (trial defect 4)', async () => {
    const w = await world({ api: false });
    // Another hotkey's validator: a process of the repo's wrapper (by its file name) in this namespace.
    const dir = path.join(w.setup.root, 'other');
    fs.mkdirSync(dir);
    const wrapper = path.join(dir, 'start_validator_pm2.sh');
    fs.writeFileSync(wrapper, '#!/usr/bin/env bash\nexec sleep 600\n', { mode: 0o755 });
    await chownTree(dir, run.user);
    w.pm2.pm2('start', wrapper, '--name', 'validator-hot2-test', '--namespace', 'alphacore');
    const before = w.pm2.list().map((p) => [p.name, p.pid, p.status]);
    const refusal = 'PM2 namespace alphacore already runs another validator: validator-hot2-test';

    const real = await launch(w, flags(w));
    const dry = await launch(w, flags(w, '--dry-run'));
    for (const r of [real, dry]) {
      expect(r.exitCode, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(refusal);
      expect(r.stderr).toContain('--pm2-namespace');
    }
    expect(dry.stdout).not.toContain('nothing is written');
    const json = await launch(w, flags(w, '--dry-run', '--json'));
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2, message: expect.stringContaining(refusal) } });
    const replace = await launch(w, flags(w, '--dry-run', '--replace'));
    expect(replace.exitCode, replace.stderr).toBe(0);
    expect(fs.existsSync(w.envFile)).toBe(false);
    expect(w.pm2.list().map((p) => [p.name, p.pid, p.status])).toEqual(before);
  });

  it('--no-autoupdate leaves an installed timer as it is and says so, with how to remove it (trial defect 6)', async () => {
    const w = await world();
    // A timer an earlier launch installed (its drop-in), with no user manager answering here.
    const dropIn = path.join(w.env.XDG_CONFIG_HOME, 'systemd', 'user', 'alphacore-autoupdate@alphacore.timer.d', 'alphacore.conf');
    fs.mkdirSync(path.dirname(dropIn), { recursive: true });
    fs.writeFileSync(dropIn, '[Timer]\nOnUnitActiveSec=2m\n');
    await chownTree(w.env.HOME, run.user);
    const r = await launch(w, flags(w));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Auto-update is still installed for namespace alphacore: --no-autoupdate left the systemd timer alphacore-autoupdate@alphacore.timer as it is');
    expect(r.stdout).toContain('Remove it with: alphacore autoupdate disable --namespace alphacore');
    expect(r.stdout).not.toContain('Auto-update not installed');
    expect(fs.existsSync(dropIn)).toBe(true);
  });

  it('folders this user cannot write, a flag with no value or given twice: exit 2 naming each, nothing written (trial defects 3, 14, 15)', async () => {
    const w = await world({ api: false });
    const bad = flags(w, '--venv-dir', '/nonexistent/venv', '--env-out', '/nonexistent-dir/x.env', '--netuid', '8', '--hotkey');
    for (const extra of [[], ['--dry-run']]) {
      const r = await launch(w, [...bad, ...extra]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain('--venv-dir /nonexistent/venv: cannot create /nonexistent (permission denied: / is not writable by this user); pass a folder you can write.');
      expect(r.stderr).toContain('--env-out /nonexistent-dir/x.env: cannot create /nonexistent-dir (permission denied');
      expect(r.stderr).toContain('--netuid was given twice (7, 8); give it once.');
      expect(r.stderr).toContain('--hotkey needs a value (e.g. --hotkey my-hotkey).');
      expect(r.stderr).not.toMatch(/this is a bug|EACCES|would create|--hotkey is required/);
    }
    const json = await launch(w, [...bad, '--json']);
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout).error.problems).toEqual(expect.arrayContaining([expect.stringContaining('--venv-dir /nonexistent/venv: cannot create /nonexistent')]));
    const dash = await launch(w, flags(w).map((word) => (word === 'cold' ? '-x' : word)));
    expect(dash.exitCode).toBe(2);
    expect(dash.stderr).toContain('--wallet-name "-x" starts with \'-\'');
    expect(dash.stderr).not.toMatch(/--x: unknown flag/);
    expect(fs.existsSync(path.join(w.setup.deploy, 'env'))).toBe(false);
    expect(fs.existsSync(path.join(w.pm2.home, 'pm2.pid'))).toBe(false);
  });

  it('refuses to run as root: exit 2, says why, writes nothing', async () => {
    const w = await world({ api: false });
    const result = await runCli(flags(w), { env: w.env, cwd: w.setup.deploy });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/refuses to run as root[\s\S]*Run it as that user/);
    expect(fs.existsSync(w.envFile)).toBe(false);
    expect(fs.existsSync(path.join(w.pm2.home, 'pm2.pid'))).toBe(false);
  });
});

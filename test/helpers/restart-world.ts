import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { createAlphaCoreSetup, fixtureGit, type AlphaCoreSetup, type Behaviour } from './alphacore-fixture.js';
import { closedPort } from './api.js';
import type { CliResult } from './cli.js';
import { isolatedPm2, type IsolatedPm2 } from './pm2.js';
import { isolatedEnv } from './tmp.js';
import { chownTree, runAs, runCliAs, userTempDir, type StagedRun } from './user.js';
import { createWallet, homeWallets } from './wallet.js';

/**
 * A validator machine in miniature, for the update's restart half: the fixture repo
 * launched by the built CLI as the throwaway user under an isolated PM2, a bystander
 * process in another namespace, and the auto-update config launch wrote (plus the
 * keys a test adds).
 */
export interface RestartWorld {
  run: StagedRun;
  setup: AlphaCoreSetup;
  pm2: IsolatedPm2;
  env: Record<string, string>;
  configFile: string;
  stateFile: string;
  historyFile: string;
  logFile: string;
  apiPort: number;
  bystanderPid: number;
  update(args?: string[]): Promise<CliResult>;
  /** Runs the same `alphacore launch` again (same flags, same environment). */
  launch(): Promise<CliResult>;
  head(): string;
  validator(): { status: string; pid: number; restarts: number } | undefined;
  state(): { journal?: { phase: string }; quarantine: { sha: string }[] };
  history(): Record<string, unknown>[];
}

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

export async function restartWorld(
  run: StagedRun,
  options: {
    behaviour?: Behaviour;
    config?: string[];
    launchFlags?: string[];
    /** Launch with LLM on, the OpenAI key in launch's environment only. */
    openaiKeyInEnv?: string;
    /** Runs (as root) on the fixture before launch, e.g. to sign the commit launch deploys. */
    beforeLaunch?: (setup: AlphaCoreSetup) => void;
  } = {},
): Promise<RestartWorld> {
  const root = userTempDir(run.user, 'alphacore-restart-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user, behaviour: options.behaviour });
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  const apiPort = await closedPort();
  // Its own task-generation port: the default 8000 is the machine's real validator's (trial defect 19).
  const httpPort = await closedPort();
  // The update prepares venvs with `python3 -m venv` and pip (§5.4): the fake runtime's,
  // whose venvs' python runs the fixture's node services in its clone.
  const pyBin = setup.python.bin;
  const base = { ...isolatedEnv(root), ...pm2.env };
  // launch refuses a wallet it cannot find: the one the flags name, where it looks by default.
  createWallet(homeWallets(base.HOME!), 'cold', ['hot']);
  const env: Record<string, string> = { ...base, PATH: `${pyBin}:${base.PATH}`, ...setup.control.env, HEALTH_STABLE: '2s', HEALTH_TIMEOUT: '20s' };
  options.beforeLaunch?.(setup);
  await chownTree(root, run.user);
  // As on a real machine: the Validation API first (the validator refuses to start without it).
  const api = await runAs(run.user, '/bin/bash', [path.join(setup.deploy, 'scripts/validator/process/launch_validation_api.sh'), '--pm2-namespace', 'alphacore', '--gcp-creds-file', creds, '--port', String(apiPort)], { env, cwd: setup.deploy });
  expect(api.exitCode, String(api.stderr)).toBe(0);
  const launchArgs = [
    'launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds,
    '--validation-api-endpoint', `http://127.0.0.1:${apiPort}`, '--round-lockfile', path.join(root, 'round.lock'),
    ...(options.openaiKeyInEnv ? [] : ['--disable-llm']), '--no-autoupdate', ...(options.launchFlags ?? []),
    ...(options.launchFlags?.includes('--http-port') ? [] : ['--http-port', String(httpPort)]),
  ];
  const launchEnv = options.openaiKeyInEnv ? { ...env, ALPHACORE_OPENAI_API_KEY: options.openaiKeyInEnv } : env;
  const relaunch = () => runCliAs(run, launchArgs, { env: launchEnv, cwd: setup.deploy, timeoutMs: 180_000 });
  const launch = await relaunch();
  expect(launch.exitCode, launch.stderr + launch.stdout).toBe(0);
  const configFile = path.join(env.XDG_CONFIG_HOME!, 'alphacore', 'autoupdate', 'alphacore.env');
  fs.appendFileSync(
    configFile,
    ['HEALTH_STABLE=2s', 'HEALTH_TIMEOUT=20s', ...(options.config ?? []), ''].join('\n'),
  );
  // A process of another namespace that no update may touch.
  const bystanderScript = path.join(root, 'bystander.sh');
  fs.writeFileSync(bystanderScript, '#!/usr/bin/env bash\nexec sleep 600\n', { mode: 0o755 });
  fs.chownSync(bystanderScript, run.user.uid, run.user.gid);
  pm2.pm2('start', bystanderScript, '--name', 'bystander', '--namespace', 'other');
  const bystanderPid = pm2.list().find((p) => p.name === 'bystander')!.pid;
  const stateDir = path.join(env.XDG_STATE_HOME!, 'alphacore', 'autoupdate');
  const readJson = <T>(file: string, fallback: T): T => (fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : fallback);
  const historyFile = path.join(stateDir, 'alphacore.history.jsonl');
  return {
    run,
    setup,
    pm2,
    env,
    configFile,
    stateFile: path.join(stateDir, 'alphacore.state.json'),
    historyFile,
    logFile: path.join(stateDir, 'alphacore.log'),
    apiPort,
    bystanderPid,
    launch: relaunch,
    update: (args = []) => runCliAs(run, ['update', '--config', configFile, ...args], { env, cwd: env.HOME, timeoutMs: 180_000 }),
    head: () => fixtureGit(setup.deploy, 'rev-parse', 'HEAD'),
    validator: () => pm2.list().find((p) => p.name === 'validator-hot-test' && p.namespace === 'alphacore'),
    state: () => readJson(path.join(stateDir, 'alphacore.state.json'), { quarantine: [] }),
    history: () =>
      fs.existsSync(historyFile)
        ? fs.readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
        : [],
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { closedPort, startApi, type ApiBehaviour, type FakeApi } from './api.js';
import { CLI, runCli, type CliResult } from './cli.js';
import { cloneDeploy, createOrigin, type Origin } from './repo.js';
import { isolatedEnv, tempDir } from './tmp.js';
import { chownTree, runCliAs, stage, type StagedRun } from './user.js';

export interface UpdateSetup {
  root: string;
  origin: Origin;
  deploy: string;
  env: Record<string, string>;
  api: FakeApi | undefined;
  apiUrl: string;
  configFile: string;
  roundLock: string;
  logFile: string;
  stateFile: string;
  run(args?: string[]): Promise<CliResult>;
  /** Runs any command (e.g. status) as run() runs update: as the clone's owner, the throwaway user when root. */
  cli(args: string[]): Promise<CliResult>;
  /** Starts `update --config <config> ...args` in the background, as run() would run it. */
  spawnUpdate(args: string[]): Promise<ChildProcess>;
}

/**
 * `update` refuses root (DESIGN.md §5 step 0). As root (CI), the runs are the
 * throwaway user's: the tree is given to it before every run, so what a test wrote
 * as root in between (a state file, a log) is the user's too.
 */
function runner(root: string): StagedRun | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const staged = stage();
  if (!staged.ready) throw new Error(`update refuses root and there is no throwaway user to run it as: ${staged.skip}`);
  return staged.ready;
}

async function cliAsOwner(root: string, env: Record<string, string>, args: string[]): Promise<CliResult> {
  const as = runner(root);
  if (!as) return runCli(args, { env });
  await chownTree(root, as.user);
  return runCliAs(as, args, { env, cwd: env.HOME });
}

/**
 * A bare origin, a deploy clone at its head, a temp user environment, a Validation
 * API (real HTTP server, or a closed port), and an auto-update config pointing at
 * them, for driving the built CLI's `update`.
 */
export async function updateSetup(options: { api?: ApiBehaviour | 'closed'; config?: string[] } = {}): Promise<UpdateSetup> {
  const root = tempDir('alphacore-update-');
  const origin = createOrigin({ 'README.md': 'fixture\n', 'src/app.py': 'print("v1")\n' }, { root });
  const deploy = cloneDeploy(origin, path.join(root, 'deploy'));
  const env = isolatedEnv(root);
  const creds = path.join(root, 'creds.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'validator@proj.iam.gserviceaccount.com' }));
  let api: FakeApi | undefined;
  let apiUrl: string;
  if (options.api === 'closed') apiUrl = `http://127.0.0.1:${await closedPort()}`;
  else {
    api = await startApi(options.api ?? { active: [] });
    apiUrl = api.url;
  }
  const roundLock = path.join(root, 'round.lock');
  const configDir = path.join(env.XDG_CONFIG_HOME!, 'alphacore', 'autoupdate');
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const configFile = path.join(configDir, 'alphacore.env');
  fs.writeFileSync(
    configFile,
    [
      'NETWORK=test',
      'WALLET_NAME=wallet',
      'WALLET_HOTKEY=hotkey',
      'NETUID=66',
      `GCP_CREDS_FILE=${creds}`,
      `REPO_DIR=${deploy}`,
      `VALIDATION_API_ENDPOINT=${apiUrl}`,
      `VALIDATOR_ROUND_LOCKFILE=${roundLock}`,
      ...(options.config ?? []),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const stateDir = path.join(env.XDG_STATE_HOME!, 'alphacore', 'autoupdate');
  return {
    root,
    origin,
    deploy,
    env,
    api,
    apiUrl,
    configFile,
    roundLock,
    logFile: path.join(stateDir, 'alphacore.log'),
    stateFile: path.join(stateDir, 'alphacore.state.json'),
    run: (args = []) => cliAsOwner(root, env, ['update', '--config', configFile, ...args]),
    cli: (args) => cliAsOwner(root, env, args),
    spawnUpdate: async (args) => {
      const as = runner(root);
      if (as) await chownTree(root, as.user);
      const cli = as ? as.cli : CLI;
      return spawn(process.execPath, [cli, 'update', '--config', configFile, ...args], {
        env: as ? { USER: as.user.name, LOGNAME: as.user.name, ...env } : env,
        cwd: env.HOME,
        stdio: 'ignore',
        ...(as ? { uid: as.user.uid, gid: as.user.gid } : {}),
      });
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRealOrigin, cloneRealDeploy, type RealOrigin } from '../helpers/real-repo.js';
import { chownTree, runAs, type StagedRun } from '../helpers/user.js';
import { userEnv } from './scheduler-harness.js';

/**
 * A validator machine as the AlphaCore repo's bash scripts left it (DESIGN.md §6,
 * migration): a deploy clone of the real repository, bash-era auto-update configs
 * as launch_validator.sh writes them, and the real ensure_autoupdate_timer.sh and
 * autoupdate_release.sh from that clone, run as the throwaway user. Paths hold no
 * blanks: the bash scripts do not quote them.
 */
export interface BashMachine {
  root: string;
  home: string;
  xdg: { XDG_CONFIG_HOME: string; XDG_STATE_HOME: string; XDG_DATA_HOME: string };
  origin: RealOrigin;
  clone: string;
  creds: string;
  /** The user's environment for these tests (extra: XDG_RUNTIME_DIR for systemd). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Writes the bash-era config of a namespace where launch_validator.sh puts it; returns its path. */
  bashConfig(namespace: string): Promise<string>;
  /** Runs the real ensure_autoupdate_timer.sh for a namespace. */
  ensure(namespace: string, config: string, interval: string, extra?: Record<string, string>): Promise<{ exitCode: number; output: string }>;
  /** Runs the real autoupdate_release.sh once (it locks, fetches, finds nothing to do). */
  bashUpdate(config: string): Promise<{ exitCode: number; output: string }>;
  /** The namespace's lock file, held the way the bash updater holds it, as the user, until killed. */
  holdLock(namespace: string): Promise<ChildProcess>;
  lockFile(namespace: string): string;
  logFile(namespace: string): string;
}

const SCRIPTS = 'scripts/validator/process';

export async function bashMachine(staged: StagedRun, name: string): Promise<BashMachine> {
  const { user, packageRoot } = staged;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `alphacore-${name}-`));
  fs.chmodSync(root, 0o755);
  const home = path.join(root, 'home');
  const xdg = { XDG_CONFIG_HOME: path.join(home, '.config'), XDG_STATE_HOME: path.join(home, '.local', 'state'), XDG_DATA_HOME: path.join(home, '.local', 'share') };
  for (const dir of Object.values(xdg)) fs.mkdirSync(dir, { recursive: true });
  const origin = createRealOrigin(path.join(root, 'origin'));
  const clone = cloneRealDeploy(origin, path.join(home, 'AlphaCore'));
  const creds = path.join(home, 'sa.json');
  fs.writeFileSync(creds, '{"client_email":"v@p.iam.gserviceaccount.com"}\n');
  await chownTree(root, user);
  // The bash updater requires pm2 on PATH even when it has nothing to do.
  const PATH = [path.join(packageRoot, 'node_modules', '.bin'), path.dirname(process.execPath), '/usr/local/bin:/usr/bin:/bin'].join(':');
  const env = (extra: Record<string, string> = {}) => userEnv(user, { HOME: home, PATH, ...xdg, ...extra });
  const stateDir = path.join(xdg.XDG_STATE_HOME, 'alphacore', 'autoupdate');
  const lockFile = (ns: string) => path.join(stateDir, `${ns}.lock`);
  const output = (r: { exitCode?: number; stdout?: unknown; stderr?: unknown }) => ({ exitCode: r.exitCode ?? -1, output: `${String(r.stdout)}\n${String(r.stderr)}` });
  return {
    root,
    home,
    xdg,
    origin,
    clone,
    creds,
    env,
    async bashConfig(ns) {
      const file = path.join(xdg.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', `${ns}.env`);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // Exactly the keys and quoting launch_validator.sh writes (no REPO_DIR: the script's clone is implied).
      fs.writeFileSync(file, [
        'NETWORK=test', `PM2_NAMESPACE=${ns}`, 'WALLET_NAME=cold', 'WALLET_HOTKEY=hot', 'NETUID=7', `GCP_CREDS_FILE=${creds}`,
        'VALIDATION_API_ENDPOINT=http://127.0.0.1:9', 'PROFILE=testing', 'VALIDATOR_EXTRA_ARGS="--timed --tick-seconds 1200"',
        'VALIDATOR_ROUND_LOCKFILE=/tmp/alphacore-validator-round.lock', '',
      ].join('\n'), { mode: 0o600 });
      await chownTree(path.join(xdg.XDG_CONFIG_HOME, 'alphacore'), user);
      return file;
    },
    async ensure(ns, config, interval, extra = {}) {
      const script = path.join(clone, SCRIPTS, 'ensure_autoupdate_timer.sh');
      return output(await runAs(user, 'bash', [script, '--pm2-namespace', ns, '--config', config, '--interval', interval], { env: env(extra), cwd: clone, timeoutMs: 60_000 }));
    },
    async bashUpdate(config) {
      const script = path.join(clone, SCRIPTS, 'autoupdate_release.sh');
      return output(await runAs(user, 'bash', [script, '--config', config], { env: env(), cwd: clone, timeoutMs: 60_000 }));
    },
    async holdLock(ns) {
      fs.mkdirSync(stateDir, { recursive: true });
      await chownTree(path.join(xdg.XDG_STATE_HOME), user);
      // autoupdate_release.sh's own two lines, then a long "update"; sleep keeps fd 9 (same pid).
      const script = 'exec 9>"$1"; flock -n 9 || exit 1; echo held; exec sleep 600';
      const child = spawn('bash', ['-c', script, '_', lockFile(ns)], { uid: user.uid, gid: user.gid, env: env(), stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the lock holder exited ${code}`)));
      });
      return child;
    },
    lockFile,
    logFile: (ns) => path.join(stateDir, `${ns}.log`),
  };
}

/** Ends a process this test started, by its pid. */
export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Ends, by pid, every process whose working directory or command line is inside `root`
 * (the test's own temp tree): a run the timer or cron started there (the bash updater's
 * venv creation, pip) outlives the manager and keeps writing while the tree is removed.
 */
export function endProcessesUnder(root: string): number[] {
  const ended: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let inside = false;
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      inside = cwd === root || cwd.startsWith(`${root}/`);
      if (!inside) inside = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${root}/`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (!inside) continue;
    try {
      process.kill(pid, 'SIGKILL');
      ended.push(pid);
    } catch {
      // already gone
    }
  }
  return ended;
}

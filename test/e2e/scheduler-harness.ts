import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestUser } from '../helpers/user.js';

/**
 * System parts for the scheduler e2e tests, started as root and stopped by pid:
 * a systemd user manager for the throwaway user (DESIGN.md §9) and the cron
 * daemon. Each start returns either a handle or the reason the tests skip.
 */
export type Started<T> = { ready: T; skip?: undefined } | { ready?: undefined; skip: string };

const SYSTEMD = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].find((f) => fs.existsSync(f));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && alive(pid); ) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Environment for running things as the user against its manager. */
export function userEnv(user: TestUser, extra: Record<string, string>): Record<string, string> {
  return { HOME: user.home, USER: user.name, LOGNAME: user.name, PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', NO_COLOR: '1', ...extra };
}

export interface UserManager {
  pid: number;
  runtimeDir: string;
  stop(): Promise<void>;
}

/**
 * Starts `systemd --user` for the user with the given XDG dirs (its unit search
 * path follows XDG_CONFIG_HOME, so it must be the one the CLI writes units to).
 */
export async function startUserManager(user: TestUser, xdg: Record<string, string>): Promise<Started<UserManager>> {
  if (process.getuid?.() !== 0) return { skip: 'not running as root: cannot start a systemd user manager (CI runs this as root)' };
  if (!SYSTEMD) return { skip: 'systemd is not installed (no /lib/systemd/systemd); .ci/run installs it' };
  const runtimeDir = `/run/user/${user.uid}`;
  if (fs.existsSync(path.join(runtimeDir, 'systemd', 'private'))) {
    const probe = spawnSync('systemctl', ['--user', 'is-system-running'], { uid: user.uid, gid: user.gid, env: { XDG_RUNTIME_DIR: runtimeDir, PATH: '/usr/bin:/bin' }, timeout: 5000 });
    if (probe.status !== null && probe.stdout.length > 0 && !String(probe.stdout).includes('offline')) {
      return { skip: `a systemd user manager already runs for ${user.name}; not started by this test, so not used` };
    }
  }
  const undo: (() => void)[] = [];
  const made = (dir: string, then?: () => void) => {
    if (fs.existsSync(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    undo.unshift(() => fs.rmSync(dir, { recursive: true, force: true }));
    then?.();
  };
  made('/run/systemd/system'); // systemd's "booted with systemd" test
  made(runtimeDir, () => {
    fs.chownSync(runtimeDir, user.uid, user.gid);
    fs.chmodSync(runtimeDir, 0o700);
  });
  const cgroups: string[] = [];
  for (const hierarchy of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd']) {
    if (!fs.existsSync(hierarchy)) continue;
    const dir = path.join(hierarchy, `user-${user.uid}`);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir);
      undo.unshift(() => removeCgroup(dir));
    }
    spawnSync('chown', ['-R', `${user.uid}`, dir]);
    cgroups.push(path.join(dir, 'cgroup.procs'));
  }
  // bash moves itself into the user's cgroups, then becomes the manager (same pid).
  const script = 'for f in "${@:3}"; do echo $BASHPID > "$f"; done; exec setpriv --reuid "$1" --regid "$2" --init-groups "$0" --user';
  const env = userEnv(user, { XDG_RUNTIME_DIR: runtimeDir, ...xdg });
  const child = spawn('bash', ['-c', script, SYSTEMD, String(user.uid), String(user.gid), ...cgroups], {
    env,
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  const pid = child.pid!;
  const stop = async () => {
    await stopPid(pid);
    for (const step of undo) {
      try {
        step();
      } catch {
        // best effort: a leftover empty dir is harmless
      }
    }
  };
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(200)) {
    const probe = spawnSync('systemctl', ['--user', 'is-system-running'], { uid: user.uid, gid: user.gid, env, encoding: 'utf8', timeout: 5000 });
    if (/running|degraded/.test(probe.stdout)) return { ready: { pid, runtimeDir, stop } };
    if (!alive(pid)) break;
  }
  await stop();
  return { skip: 'the systemd user manager did not come up within 15s (see DESIGN.md §9)' };
}

/** Removes a cgroup tree depth-first; cgroup dirs go with rmdir once empty. */
function removeCgroup(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroup(path.join(dir, entry.name));
  }
  fs.rmdirSync(dir);
}

export interface CronDaemon {
  /** undefined when a cron daemon was already running (it is left alone). */
  pid?: number;
  stop(): Promise<void>;
}

/** The real cron daemon (Debian package `cron`), in the foreground so its pid is ours. */
export async function startCron(): Promise<Started<CronDaemon>> {
  if (process.getuid?.() !== 0) return { skip: 'not running as root: cannot start the cron daemon (CI runs this as root)' };
  const cron = ['/usr/sbin/cron', '/usr/bin/cron'].find((f) => fs.existsSync(f));
  if (!cron) return { skip: 'cron is not installed (Debian package cron; .ci/run installs it)' };
  const running = Number(fs.existsSync('/run/crond.pid') ? fs.readFileSync('/run/crond.pid', 'utf8').trim() : NaN);
  if (running > 0 && alive(running)) return { ready: { stop: async () => {} } };
  const child = spawn(cron, ['-f'], { detached: true, stdio: 'ignore', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  child.unref();
  const pid = child.pid!;
  await sleep(300);
  if (!alive(pid)) return { skip: 'the cron daemon exited at start' };
  const stop = async () => {
    await stopPid(pid);
    // cron leaves its pid file behind on SIGTERM; ours would look like a live daemon later
    if (fs.existsSync('/run/crond.pid') && fs.readFileSync('/run/crond.pid', 'utf8').trim() === String(pid)) fs.rmSync('/run/crond.pid');
  };
  return { ready: { pid, stop } };
}

/** Waits for a line matching `pattern` in `file`; returns the file's text. */
export async function waitForLine(file: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  let text = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(250)) {
    text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (pattern.test(text)) return text;
  }
  throw new Error(`no line matching ${pattern} in ${file} within ${timeoutMs} ms; it holds:\n${text}`);
}

export interface DeployFixture {
  namespace: string;
  repoDir: string;
  configFile: string;
  logFile: string;
}

/**
 * What a timer run needs to end `result: up-to-date`: an origin, a deploy clone
 * at origin/release (in a folder with a space and a `%`), a creds file and the
 * namespace's config in its XDG place, all owned by the user.
 */
export async function deployFixture(user: TestUser, root: string, xdg: { XDG_CONFIG_HOME: string; XDG_STATE_HOME: string }, namespace: string): Promise<DeployFixture> {
  const { createOrigin, cloneDeploy } = await import('../helpers/repo.js');
  const { serializeEnvFile } = await import('../../src/core/envfile.js');
  const { chownTree } = await import('../helpers/user.js');
  const base = path.join(root, `fixture ${namespace}`);
  fs.mkdirSync(path.join(base, 'repo 100% x'), { recursive: true });
  const origin = createOrigin({ 'README.md': 'fixture\n' }, { root: base });
  const repoDir = cloneDeploy(origin, path.join(base, 'repo 100% x', 'AlphaCore'));
  const creds = path.join(base, 'creds.json');
  fs.writeFileSync(creds, '{"client_email":"v@p.iam.gserviceaccount.com"}\n');
  const configFile = path.join(xdg.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', `${namespace}.env`);
  fs.mkdirSync(path.dirname(configFile), { recursive: true });
  fs.writeFileSync(configFile, serializeEnvFile([
    ['NETWORK', 'test'], ['WALLET_NAME', 'w'], ['WALLET_HOTKEY', 'h'], ['NETUID', '1'], ['PM2_NAMESPACE', namespace],
    ['GCP_CREDS_FILE', creds], ['REPO_DIR', repoDir], ['VALIDATION_API_ENDPOINT', 'http://127.0.0.1:9'],
  ]), { mode: 0o600 });
  await chownTree(root, user);
  return { namespace, repoDir, configFile, logFile: path.join(xdg.XDG_STATE_HOME, 'alphacore', 'autoupdate', `${namespace}.log`) };
}

/**
 * Serialises the test files that use one piece of shared machine state: the
 * throwaway user's crontab (and the cron daemon), or its systemd user manager.
 * Files run two at a time (and other checkouts may run theirs), so each holds a
 * kernel flock on /tmp/alphacore-e2e-<name>.lock for its whole run, through a
 * `flock` process that ends when its stdin closes: when the test process dies,
 * the lock goes with it. Take several in the order crontab, then user-manager.
 */
export async function holdMachineState(name: 'crontab' | 'user-manager'): Promise<() => Promise<void>> {
  const file = path.join(os.tmpdir(), `alphacore-e2e-${name}.lock`);
  const child = spawn('flock', ['--exclusive', file, 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock ${file} exited ${code}`)));
  });
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await exited;
  };
}

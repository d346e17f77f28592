import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';

const made: string[] = [];

/** A temp dir removed after the current test. */
export function tempDir(prefix = 'alphacore-test-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  made.push(dir);
  return dir;
}

afterEach(() => {
  const dirs = made.splice(0);
  endPm2Under(dirs);
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A run of the CLI under test may start a PM2 daemon in the test's PM2_HOME (an update's
 * relaunch, a restore); it outlives the test and its folder. Each process whose
 * PM2_HOME lies inside one of `dirs` was started for that test: ended by pid.
 */
function endPm2Under(dirs: readonly string[]): void {
  if (dirs.length === 0 || !fs.existsSync('/proc/self/environ')) return;
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let home: string | undefined;
    try {
      home = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith('PM2_HOME='))?.slice('PM2_HOME='.length);
    } catch {
      continue; // gone, or not ours to read
    }
    if (!home || !dirs.some((dir) => home.startsWith(`${dir}/`))) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * An isolated user environment: temp HOME and XDG dirs, so tests never touch the
 * real user's config, state, PM2 or systemd.
 */
export function isolatedEnv(root = tempDir(), extra: Record<string, string> = {}): Record<string, string> {
  const home = path.join(root, 'home');
  fs.mkdirSync(home, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    PM2_HOME: path.join(home, '.pm2'),
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    ...extra,
  };
  return env;
}

/**
 * A global git config with `safe.directory = *`: as root, the repos may belong to the
 * throwaway user that runs the CLI, and a local push's receive-pack ignores `-c` and
 * GIT_CONFIG_*. test/global-setup.ts makes one for the whole run and removes it at the
 * end (ALPHACORE_TEST_GITCONFIG); a test process started without it (no global setup)
 * makes its own, removed after the file's tests and at the process's exit.
 */
let safeConfig: string | undefined;
const dropSafeConfig = () => {
  if (safeConfig) fs.rmSync(path.dirname(safeConfig), { recursive: true, force: true });
  safeConfig = undefined;
};
afterAll(dropSafeConfig);
process.on('exit', dropSafeConfig);
export function safeDirectoryGitConfig(): string {
  const shared = process.env.ALPHACORE_TEST_GITCONFIG;
  if (shared && fs.existsSync(shared)) return shared;
  safeConfig ??= path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-gitconfig-')), 'gitconfig');
  fs.writeFileSync(safeConfig, '[safe]\n\tdirectory = *\n');
  return safeConfig;
}

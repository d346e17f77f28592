import os from 'node:os';
import path from 'node:path';
import { guardProcess, type Interrupts } from '../adapters/interrupts.js';
import { withLoginEnv, type Account } from './login-env.js';

/** Where the toolkit keeps its files for one user (DESIGN.md §3). */
export interface Paths {
  home: string;
  configHome: string;
  stateHome: string;
  autoupdateConfigDir: string;
  autoupdateStateDir: string;
  systemdUserDir: string;
  autoupdateConfig(namespace: string): string;
  log(namespace: string): string;
  state(namespace: string): string;
  history(namespace: string): string;
  lock(namespace: string): string;
}

/**
 * Everything a command may observe about the outside world. Nothing under src/
 * reads process.env, process.cwd() or the clock directly: tests build a Context
 * over temp dirs.
 */
export interface Context {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  now: () => Date;
  paths: Paths;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  /** The uid the command runs as (launch refuses root). */
  uid: number;
  /** Absolute path of the running node binary and CLI entry, for the scheduler. */
  nodePath: string;
  cliPath: string;
  /**
   * Arms the update's guard against signals and a closed stdout (adapters/interrupts.ts);
   * absent in contexts built by tests, which have no process to guard.
   */
  guard?: () => Interrupts;
}

export function makePaths(env: Readonly<Record<string, string | undefined>>): Paths {
  const home = env.HOME || '/';
  const configHome = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  const stateHome = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  const autoupdateConfigDir = path.join(configHome, 'alphacore', 'autoupdate');
  const autoupdateStateDir = path.join(stateHome, 'alphacore', 'autoupdate');
  return {
    home,
    configHome,
    stateHome,
    autoupdateConfigDir,
    autoupdateStateDir,
    systemdUserDir: path.join(configHome, 'systemd', 'user'),
    autoupdateConfig: (ns) => path.join(autoupdateConfigDir, `${ns}.env`),
    log: (ns) => path.join(autoupdateStateDir, `${ns}.log`),
    state: (ns) => path.join(autoupdateStateDir, `${ns}.state.json`),
    history: (ns) => path.join(autoupdateStateDir, `${ns}.history.jsonl`),
    lock: (ns) => path.join(autoupdateStateDir, `${ns}.lock`),
  };
}

/** The real process's context; the only place that reads process globals. */
export function processContext(cliPath: string): Context {
  // What a login shell would give (USER, LOGNAME, HOME, SHELL), also under cron or `env -i`.
  const env = withLoginEnv(process.env, processAccount());
  return {
    env,
    cwd: process.cwd(),
    now: () => new Date(),
    paths: makePaths(env),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stdout.isTTY),
    uid: typeof process.getuid === 'function' ? process.getuid() : -1,
    nodePath: process.execPath,
    cliPath,
    guard: () => guardProcess(),
  };
}

function processAccount(): Account | undefined {
  try {
    const info = os.userInfo();
    return { name: info.username, home: info.homedir, shell: info.shell ?? '' };
  } catch {
    return undefined; // a uid with no passwd entry (some containers): nothing to fill in from
  }
}

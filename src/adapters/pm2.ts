import type { Context } from '../core/context.js';
import { OperationError } from '../core/errors.js';
import { Pm2DaemonSilent, type Pm2Daemon, type Pm2DaemonLink } from './pm2-daemon.js';
import { withoutSecrets } from '../core/secrets.js';
import { PM2_HANG_EVERY_MS, pm2HangCheck } from './pm2-hang.js';
import { pm2Home } from './pm2-home.js';
import { tightenPm2Home } from './pm2-private.js';
import { describeFailure, run, type RunResult } from './shell.js';

/** A `pm2` command ended because no PM2 daemon ran while it waited for one (pm2-hang.ts): the machine's fault. */
export class Pm2Hung extends OperationError {
  constructor(message: string) {
    super(message);
    this.name = 'Pm2Hung';
  }
}

/** One PM2 process as `pm2 jlist` reports it, in the fields the toolkit uses. */
export interface Pm2Process {
  name: string;
  pmId: number;
  namespace: string;
  status: string;
  pid: number;
  restarts: number;
  /** When the current run started (ms since the epoch). */
  uptimeSince?: number;
  cwd?: string;
  /** The script PM2 runs (pm_exec_path). */
  script?: string;
  /**
   * The environment PM2 gave the process: the starting client's environment (pm2_env's
   * own string fields) overlaid with the app's env block (pm2_env.env). An ecosystem
   * start keeps only the file's env block in pm2_env.env; the rest is at the top level.
   */
  env?: Record<string, string>;
  interpreter?: string;
  maxRestarts?: number;
  restartDelayMs?: number;
  /** Log files (pm_out_log_path, pm_err_log_path). */
  outLog?: string;
  errorLog?: string;
}

/** Restart policy and log files of a process started without an ecosystem file. */
export interface Pm2Policy {
  maxRestarts: number;
  restartDelayMs: number;
  outFile: string;
  errorFile: string;
  logDateFormat: string;
}

/**
 * What `startApp` starts: one script under an interpreter, in a namespace. With
 * `ecosystem`, PM2 starts that ecosystem file (which reads `env` from the environment
 * and sets script, namespace, policy and logs itself); otherwise the script directly
 * with `policy`.
 */
export interface Pm2App {
  name: string;
  namespace: string;
  script: string;
  interpreter: string;
  cwd: string;
  /** Added to the caller's environment for this process. */
  env: Record<string, string>;
  ecosystem?: string;
  policy?: Pm2Policy;
}

export interface Pm2 {
  /** The pm2 program used (PM2_BIN, else `pm2` on PATH). */
  readonly bin: string;
  available(): Promise<{ ok: boolean; detail: string }>;
  list(namespace?: string): Promise<Pm2Process[]>;
  /** Stops the namespace's processes, and only those; returns their names. */
  stopNamespace(namespace: string): Promise<string[]>;
  /** Deletes the processes called `name` in `namespace` (not same-named ones elsewhere); true when one existed. */
  deleteProcess(name: string, namespace: string): Promise<boolean>;
  /** Stops and deletes every process of the namespace, by id (never another namespace's); returns their names. */
  deleteNamespace(namespace: string): Promise<string[]>;
  startApp(app: Pm2App): Promise<void>;
  /** Writes the process list PM2's startup script restores after a reboot. */
  save(): Promise<void>;
  /** How often a health wait may ask `list`: often through the daemon's socket, rarely through the CLI. */
  pollMs(): Promise<number>;
}

const QUICK_MS = 30_000;
const START_MS = 90_000;

/**
 * The argv of `pm2 start` for an app (also what --dry-run prints). --force: without it
 * PM2 refuses a script that another process (e.g. a second hotkey's validator from the
 * same clone) already runs, or restarts that other process instead.
 */
export function pm2StartArgs(app: Pm2App): string[] {
  // As the repo's launch_pm2.sh runs it.
  if (app.ecosystem) return ['start', app.ecosystem, '--name', app.name, '--update-env'];
  const args = ['start', app.script, '--name', app.name, '--namespace', app.namespace, '--interpreter', app.interpreter, '--cwd', app.cwd];
  const p = app.policy;
  if (p) {
    args.push('--max-restarts', String(p.maxRestarts), '--restart-delay', String(p.restartDelayMs), '--output', p.outFile, '--error', p.errorFile);
    args.push('--merge-logs', '--log-date-format', p.logDateFormat);
  } else args.push('--time');
  return [...args, '--force'];
}

export interface JlistEntry {
  name?: string;
  pm_id?: number;
  pid?: number;
  pm2_env?: {
    namespace?: string;
    status?: string;
    restart_time?: number;
    pm_uptime?: number;
    pm_cwd?: string;
    pm_exec_path?: string;
    exec_interpreter?: string;
    max_restarts?: number;
    restart_delay?: number;
    pm_out_log_path?: string;
    pm_err_log_path?: string;
    env?: Record<string, unknown>;
    [key: string]: unknown;
  };
}

/** Parses `pm2 jlist`; PM2 may print notices (daemon spawn, version warnings) before the JSON. */
export function parseJlist(stdout: string): Pm2Process[] {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('['))
    .at(-1);
  if (line === undefined) throw new OperationError(`pm2 jlist printed no process list: ${stdout.slice(0, 200)}`);
  let entries: JlistEntry[];
  try {
    entries = JSON.parse(line) as JlistEntry[];
  } catch (error) {
    throw new OperationError(`pm2 jlist printed something that is not JSON: ${(error as Error).message}`);
  }
  return toProcesses(entries);
}

/** The fields the toolkit uses of the daemon's process list (`jlist` prints the same list). */
export function toProcesses(entries: JlistEntry[]): Pm2Process[] {
  return entries.map((e) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.pm2_env ?? {})) if (typeof v === 'string') env[k] = v;
    for (const [k, v] of Object.entries(e.pm2_env?.env ?? {})) if (typeof v === 'string') env[k] = v;
    return {
      name: e.name ?? '',
      pmId: e.pm_id ?? -1,
      namespace: e.pm2_env?.namespace ?? 'default',
      status: e.pm2_env?.status ?? 'unknown',
      pid: e.pid ?? 0,
      restarts: e.pm2_env?.restart_time ?? 0,
      uptimeSince: e.pm2_env?.pm_uptime,
      cwd: e.pm2_env?.pm_cwd,
      script: e.pm2_env?.pm_exec_path,
      env,
      interpreter: e.pm2_env?.exec_interpreter,
      maxRestarts: e.pm2_env?.max_restarts,
      restartDelayMs: e.pm2_env?.restart_delay,
      outLog: e.pm2_env?.pm_out_log_path,
      errorLog: e.pm2_env?.pm_err_log_path,
    };
  });
}

const POLL_DAEMON_MS = 100;
const POLL_CLI_MS = 500;

/**
 * PM2 through its CLI, or, given a `daemon` link (the update's swap), through one RPC
 * connection to the running daemon for what needs no CLI logic: the process list,
 * stop and delete by id (what `pm2 jlist/stop/delete <ids>` send it). Starting an app
 * (the ecosystem file is evaluated with the caller's environment) and `save` stay CLI
 * calls. A failed RPC call gives the link up and the CLI does the rest of the run.
 */
export function openPm2(ctx: Context, options: { daemon?: Pm2DaemonLink } = {}): Pm2 {
  const { daemon } = options;
  const bin = ctx.env.PM2_BIN || 'pm2';
  const call = async (args: string[], timeoutMs = QUICK_MS, extraEnv: Record<string, string> = {}): Promise<RunResult> =>
    // ctx.env carries PM2_HOME when set, so every call reaches the same daemon. No secret
    // reaches PM2 (it would keep it in dump.pm2): the validator's are in its env file.
    run(bin, args, { env: withoutSecrets({ ...ctx.env, ...extraEnv }), timeoutMs, cwd: ctx.cwd, watch: { everyMs: PM2_HANG_EVERY_MS, check: pm2HangCheck(pm2Home(ctx)) } });
  const must = async (what: string, args: string[], timeoutMs?: number, extraEnv?: Record<string, string>): Promise<RunResult> => {
    const result = await call(args, timeoutMs, extraEnv);
    // Its daemon died under it: the machine's fault, as a daemon that stops answering.
    if (result.endedBy) throw new Pm2Hung(`pm2 ${what} failed: ${describeFailure(result)}`);
    if (!result.ok) {
      const hint = result.notFound ? ` Install PM2 (npm install -g pm2) or set PM2_BIN to its path.` : '';
      throw new OperationError(`pm2 ${what} failed: ${describeFailure(result)}.${hint}`);
    }
    return result;
  };
  /** `fn` through the daemon's socket when there is one; undefined means: use the CLI. */
  const viaDaemon = async <T>(what: string, fn: (d: Pm2Daemon) => Promise<T>): Promise<{ value: T } | undefined> => {
    const d = await daemon?.get();
    if (!d) return undefined;
    try {
      return { value: await fn(d) };
    } catch (error) {
      daemon!.drop(`the PM2 daemon's socket failed on ${what} (${(error as Error).message}); using the pm2 CLI`);
      return undefined;
    }
  };
  const list = async (namespace?: string): Promise<Pm2Process[]> => {
    const rpc = await viaDaemon('getMonitorData', (d) => d.call<JlistEntry[]>('getMonitorData', {}));
    const all = rpc ? toProcesses(rpc.value) : parseJlist((await must('jlist', ['jlist'])).stdout);
    return namespace === undefined ? all : all.filter((p) => p.namespace === namespace);
  };
  /** `pm2 stop|delete <ids>`: the same RPC per id the CLI sends, then the CLI for whatever is left. */
  const byIds = async (action: 'stop' | 'delete', what: string, ids: number[]): Promise<void> => {
    const method = action === 'stop' ? 'stopProcessId' : 'deleteProcessId';
    let left = ids;
    const d = await daemon?.get();
    if (d) {
      left = [];
      for (const [i, id] of ids.entries()) {
        try {
          await d.call(method, id);
          // As the CLI does: tell the daemon it was the operator's action (no auto-restart, events).
          void d.call('notifyByProcessId', { id, action_name: action, manually: true }).catch(() => undefined);
        } catch (error) {
          if (error instanceof Pm2DaemonSilent) {
            daemon!.drop(`the PM2 daemon's socket failed on ${method} (${error.message}); using the pm2 CLI`);
            left.push(...ids.slice(i));
            break;
          }
          left.push(id); // the daemon said no (e.g. an id deleted meanwhile): checked below
        }
      }
    }
    if (left.length === 0) return;
    // A process a script deleted or stopped since the list (the repo's launch script of a
    // killed run, still going) needs nothing more: only what is still there is asked again.
    const pending = async () => {
      const now = await list();
      return left.filter((id) => now.some((p) => p.pmId === id && (action === 'delete' || p.status !== 'stopped')));
    };
    left = await pending();
    if (left.length === 0) return;
    try {
      await must(what, [action, ...left.map(String)]);
    } catch (error) {
      if ((await pending()).length > 0) throw error;
    }
  };
  return {
    bin,
    async available() {
      const rpc = await viaDaemon('getVersion', async (d) => d);
      if (rpc) {
        const d = rpc.value;
        const skew = d.daemonVersion === d.clientVersion ? '' : ` (the pm2 package on PATH is ${d.clientVersion}: run pm2 update when no round runs)`;
        return { ok: true, detail: `pm2 ${d.daemonVersion} daemon${skew}` };
      }
      const result = await call(['--version']);
      if (result.ok) return { ok: true, detail: `pm2 ${result.stdout.trim().split('\n').at(-1)}` };
      return { ok: false, detail: result.notFound ? `${bin} not found on PATH (install PM2 or set PM2_BIN)` : describeFailure(result) };
    },
    list,
    async stopNamespace(namespace) {
      // Never `pm2 stop all --namespace`: it stops every process on the machine.
      const procs = await list(namespace);
      if (procs.length === 0) return [];
      await byIds('stop', `stop (namespace ${namespace})`, procs.map((p) => p.pmId));
      return procs.map((p) => p.name);
    },
    async deleteProcess(name, namespace) {
      // By id: `pm2 delete <name>` would also delete a same-named process of another namespace.
      const ids = (await list(namespace)).filter((p) => p.name === name).map((p) => p.pmId);
      if (ids.length === 0) return false;
      await byIds('delete', `delete ${name}`, ids);
      return true;
    },
    async deleteNamespace(namespace) {
      // By id, as in stopNamespace: `pm2 delete all --namespace` is not scoped on every PM2 version.
      const procs = await list(namespace);
      if (procs.length === 0) return [];
      await byIds('delete', `delete (namespace ${namespace})`, procs.map((p) => p.pmId));
      return procs.map((p) => p.name);
    },
    async startApp(app) {
      await must(`start ${app.name}`, pm2StartArgs(app), START_MS, app.env);
    },
    async save() {
      await must('save', ['save', '--force']);
      // dump.pm2 holds every process's environment: private, in a private PM2_HOME (§5.7).
      tightenPm2Home(ctx);
    },
    async pollMs() {
      return (await daemon?.get()) ? POLL_DAEMON_MS : POLL_CLI_MS;
    },
  };
}

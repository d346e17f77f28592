import { execa } from 'execa';

/**
 * The one way the toolkit runs other programs: an argv array, never a string for a
 * shell, always with a timeout, with the environment passed explicitly.
 *
 * Every program runs in a process group of its own (detached), and a timeout kills the
 * whole group: SIGTERM, then SIGKILL after KILL_GRACE_MS. Without that, a wrapper
 * script's child (AlphaCore's launch scripts start pip, pm2, a hung `sleep`) keeps the
 * output pipe open and the call never returns: the services stay down and, under a
 * timer, every later run reports `locked`. A grandchild that left the group (setsid)
 * and still holds the pipe cannot hold us either: STREAM_GRACE_MS after the SIGKILL the
 * pipes are closed and the call returns as timed out.
 *
 * Being in its own group also means a Ctrl-C or `systemctl stop` reaches only the
 * updater, which finishes the current step and rolls back (DESIGN.md §5); it never
 * kills a half-done `git reset` or launch script under it.
 */
export interface RunOptions {
  cwd?: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  input?: string;
  /** Connects the terminal (stdin/stdout/stderr) for programs that may prompt (btcli); output is not captured. */
  interactive?: boolean;
  /** Kept for callers written before every run was group-killed; always on now (except interactive). */
  killGroup?: boolean;
}

export interface RunResult {
  command: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** true when the program could not be started at all (not on PATH, not executable). */
  notFound: boolean;
  ok: boolean;
}

export const KILL_GRACE_MS = 3000;
export const STREAM_GRACE_MS = 2000;

/** Signals a whole process group; false when it is already gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  // An interactive program needs the terminal, which a new session would not have; it
  // gets execa's own timeout (the direct child) instead.
  const group = !options.interactive;
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: options.env as Record<string, string>,
    extendEnv: false,
    input: options.input,
    ...(options.interactive ? { stdio: 'inherit' as const, timeout: options.timeoutMs } : { stdin: options.input === undefined ? ('ignore' as const) : undefined }),
    reject: false,
    stripFinalNewline: true,
    forceKillAfterDelay: KILL_GRACE_MS,
    ...(group ? { detached: true } : {}),
  });
  let groupKilled = false;
  const timers: NodeJS.Timeout[] = [];
  if (group) {
    timers.push(
      setTimeout(() => {
        groupKilled = true;
        if (!killGroup(subprocess.pid, 'SIGTERM')) subprocess.kill('SIGTERM');
        timers.push(
          setTimeout(() => {
            killGroup(subprocess.pid, 'SIGKILL');
            subprocess.kill('SIGKILL');
            timers.push(
              setTimeout(() => {
                // Whatever still holds our pipes is not ours to wait for.
                subprocess.stdout?.destroy();
                subprocess.stderr?.destroy();
              }, STREAM_GRACE_MS),
            );
          }, KILL_GRACE_MS),
        );
      }, options.timeoutMs),
    );
  }
  const result = await subprocess;
  for (const t of timers) clearTimeout(t);
  const stderr = String(result.stderr ?? '');
  const code = (result as { code?: string }).code;
  return {
    command: [file, ...args].join(' '),
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ''),
    stderr: stderr || (result.failed && result.exitCode === undefined && !groupKilled ? String(result.message) : ''),
    timedOut: Boolean(result.timedOut) || groupKilled,
    notFound: code === 'ENOENT' || code === 'EACCES',
    ok: !groupKilled && !result.failed && result.exitCode === 0,
  };
}

/** One line saying how a command failed, for logs and error messages. */
export function describeFailure(result: RunResult): string {
  if (result.notFound) return `${result.command}: program not found or not executable`;
  if (result.timedOut) return `${result.command}: timed out (its process group was killed)`;
  const tail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${result.command}: exit ${result.exitCode ?? '?'}${tail ? `: ${tail}` : ''}`;
}

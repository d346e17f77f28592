import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The one way the toolkit runs other programs: an argv array, never a string for a
 * shell, always with a timeout, with the environment passed explicitly.
 *
 * Every program (but an interactive one) runs in a process group of its own, and a
 * timeout kills the whole group: SIGTERM, then SIGKILL after KILL_GRACE_MS (issue 10: a
 * hung grandchild of a repo script, pip or a pm2 shim, must not hold the services down
 * or leave every later timer run `locked`). Whatever still holds the output pipes
 * STREAM_GRACE_MS after that (a grandchild that left the group) is not waited for: the
 * pipes are closed and the call returns as timed out. Being in its own group also
 * keeps a Ctrl-C or `systemctl stop` aimed at the updater from killing a half-done
 * `git reset` or launch script under it (the updater finishes the step, DESIGN.md §5).
 *
 * Built on node:child_process rather than execa: this runs on the timer's no-op path
 * every two minutes, where loading execa cost more than the git calls themselves
 * (issue 11), and the toolkit needs only what is here.
 */
export interface RunOptions {
  cwd?: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  input?: string;
  /** Connects the terminal (stdin/stdout/stderr) for programs that may prompt (btcli); output is not captured. */
  interactive?: boolean;
  /** Kept for callers written before every run was group-killed: always on now (except interactive). */
  killGroup?: boolean;
  /** Open file descriptors handed to the program as its fds 3, 4, ... (util-linux `flock 3` locking ours). */
  extraFds?: readonly number[];
  /** Also return stdout's exact bytes (rawStdout), e.g. to hash a file's content. */
  raw?: boolean;
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
  rawStdout?: Buffer;
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

const stripFinalNewline = (text: string) => text.replace(/\r?\n$/, '');

export function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const command = [file, ...args].join(' ');
  // An interactive program needs the terminal, which a new process group would not
  // have in the foreground; its timeout reaches the direct child only.
  // An interactive program needs the terminal's foreground group; its timeout reaches the direct child.
  const group = !options.interactive;
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    let timedOut = false;
    let settled = false;
    let child: ChildProcess;
    const settle = (result: Omit<RunResult, 'command'>) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      resolve({ command, ...result });
    };
    const notStarted = (error: NodeJS.ErrnoException) =>
      settle({ exitCode: undefined, stdout: '', stderr: `${command}: ${error.message}`, timedOut: false, notFound: error.code === 'ENOENT' || error.code === 'EACCES', ok: false });
    try {
      child = spawn(file, [...args], {
        cwd: options.cwd,
        env: options.env as NodeJS.ProcessEnv,
        detached: group,
        stdio: options.interactive ? 'inherit' : [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(options.extraFds ?? [])],
      });
    } catch (error) {
      notStarted(error as NodeJS.ErrnoException);
      return;
    }
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const signal = (sig: NodeJS.Signals) => {
      if (!(group && killGroup(child.pid, sig))) child.kill(sig);
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        signal(group ? 'SIGKILL' : 'SIGTERM');
        timers.push(
          setTimeout(() => {
            signal('SIGKILL');
            timers.push(
              setTimeout(() => {
                // Whatever still holds our pipes is not ours to wait for.
                child.stdout?.destroy();
                child.stderr?.destroy();
              }, STREAM_GRACE_MS),
            );
          }, KILL_GRACE_MS),
        );
      }, options.timeoutMs),
    );
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) notStarted(error);
    });
    child.on('close', (code) => {
      const exitCode = code ?? undefined;
      settle({
        exitCode,
        stdout: stripFinalNewline(Buffer.concat(out).toString('utf8')),
        stderr: stripFinalNewline(Buffer.concat(err).toString('utf8')) || (exitCode === undefined && !timedOut ? `${command}: killed by a signal` : ''),
        timedOut,
        notFound: false,
        ok: !timedOut && exitCode === 0,
        ...(options.raw ? { rawStdout: Buffer.concat(out) } : {}),
      });
    });
    if (options.input !== undefined && child.stdin) {
      // A program that exits without reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/** One line saying how a command failed, for logs and error messages. */
export function describeFailure(result: RunResult): string {
  if (result.notFound) return `${result.command}: program not found or not executable`;
  if (result.timedOut) return `${result.command}: timed out (its process group was killed)`;
  const tail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${result.command}: exit ${result.exitCode ?? '?'}${tail ? `: ${tail}` : ''}`;
}

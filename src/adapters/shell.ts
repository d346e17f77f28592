import { spawn, type ChildProcess } from 'node:child_process';
import { formatDuration } from '../core/duration.js';

/**
 * The one way the toolkit runs other programs: an argv array, never a string for a
 * shell, always with a timeout, with the environment passed explicitly.
 *
 * Every program (but an interactive one) runs in a process group of its own, and a
 * timeout ends the whole group: SIGTERM, then SIGKILL after KILL_GRACE_MS. A hung
 * grandchild of a repo script, pip or a pm2 shim must not hold the services down or
 * leave every later timer run `locked`; the grace lets git remove its lock files.
 * Whatever still holds the output pipes STREAM_GRACE_MS after that (a grandchild that
 * left the group) is not waited for: the pipes are closed and the call returns as
 * timed out. Being in its own group also keeps a Ctrl-C or `systemctl stop` aimed at
 * the updater from killing a half-done `git reset` or launch script under it: the
 * updater decides (endRunning before the first stop; finish the step after it).
 *
 * Built on node:child_process rather than execa: this runs on the timer's no-op path
 * every two minutes, where loading execa cost more than the git calls themselves,
 * and the toolkit needs only what is here.
 */
export interface RunOptions {
  cwd?: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  input?: string;
  /** Connects the terminal (stdin/stdout/stderr) for programs that may prompt (btcli); output is not captured. */
  interactive?: boolean;
  /** Open file descriptors handed to the program as its fds 3, 4, ... (util-linux `flock 3` locking ours). */
  extraFds?: readonly number[];
  /** Also return stdout's exact bytes (rawStdout), e.g. to hash a file's content. */
  raw?: boolean;
  /**
   * Asked every `everyMs` while the program runs, with its pid: a reason ends it the way
   * a timeout does (SIGTERM to its group, then SIGKILL), and the result carries the reason.
   */
  watch?: { everyMs: number; check: (pid: number) => string | undefined };
}

export interface RunResult {
  command: string;
  /** The limit the run was given (a timed-out run's message names it). */
  timeoutMs?: number;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why `watch` ended the program, when it did. */
  endedBy?: string;
  /** true when the program could not be started at all (not on PATH, not executable). */
  notFound: boolean;
  ok: boolean;
  rawStdout?: Buffer;
}

export const KILL_GRACE_MS = 3000;
export const STREAM_GRACE_MS = 2000;
/** How long a signal-ended run waits for its children to end on SIGTERM before SIGKILL. */
export const ABORT_GRACE_MS = 1500;

/** A program started by run() in its own group and not finished yet. */
export interface RunningChild {
  pid: number;
  command: string;
}

const running = new Map<number, { command: string; closed: Promise<void> }>();
let aborting = false;

/**
 * Ends every running program's process group (SIGTERM, then SIGKILL after `graceMs`),
 * for a run that a signal ends before it stopped anything. From then on run() starts
 * nothing and its pending calls never resolve: the caller is about to exit, and no
 * step may act on a "failure" that is only the kill. Returns what was ended.
 */
export async function endRunning(graceMs = ABORT_GRACE_MS): Promise<RunningChild[]> {
  aborting = true;
  const ended = [...running.entries()].map(([pid, c]) => ({ pid, command: c.command, closed: c.closed }));
  for (const c of ended) killGroup(c.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([Promise.all(ended.map((c) => c.closed)), grace]);
  clearTimeout(timer);
  for (const c of ended) if (running.has(c.pid)) killGroup(c.pid, 'SIGKILL');
  return ended.map(({ pid, command }) => ({ pid, command }));
}

/** Whether endRunning was called (the process is about to exit). */
export function isEnding(): boolean {
  return aborting;
}

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
  // An interactive program needs the terminal's foreground group; its timeout reaches the direct child.
  const group = !options.interactive;
  if (aborting) return new Promise(() => undefined);
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    let timedOut = false;
    let endedBy: string | undefined;
    // SIGTERM sent (a timeout or the watch): the group is being ended.
    let ending = false;
    let settled = false;
    let child: ChildProcess;
    let closed: () => void = () => undefined;
    const settle = (result: Omit<RunResult, 'command'>) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      // The leader exited on SIGTERM; a member that ignores it (a pm2 CLI waiting on a dead
      // daemon) would outlive us: the group gets its SIGKILL now, not never.
      if (ending && group) killGroup(child?.pid, 'SIGKILL');
      if (child?.pid !== undefined) running.delete(child.pid);
      closed();
      // Ended by endRunning: the process exits; nothing may act on this result.
      if (!aborting) resolve({ command, timeoutMs: options.timeoutMs, ...result });
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
    if (group && child.pid !== undefined) running.set(child.pid, { command, closed: new Promise<void>((resolve) => (closed = resolve)) });
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const signal = (sig: NodeJS.Signals) => {
      if (!(group && killGroup(child.pid, sig))) child.kill(sig);
    };
    const end = () => {
      if (ending) return;
      ending = true;
      signal('SIGTERM');
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
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        end();
      }, options.timeoutMs),
    );
    const { watch } = options;
    if (watch && child.pid !== undefined) {
      const pid = child.pid;
      // clearTimeout (settle) clears an interval too.
      timers.push(
        setInterval(() => {
          if (ending) return;
          const reason = watch.check(pid);
          if (reason === undefined) return;
          endedBy = reason;
          end();
        }, watch.everyMs),
      );
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) notStarted(error);
    });
    child.on('close', (code) => {
      const exitCode = code ?? undefined;
      settle({
        exitCode,
        stdout: stripFinalNewline(Buffer.concat(out).toString('utf8')),
        stderr: stripFinalNewline(Buffer.concat(err).toString('utf8')) || (exitCode === undefined && !timedOut && !endedBy ? `${command}: killed by a signal` : ''),
        timedOut,
        ...(endedBy ? { endedBy } : {}),
        notFound: false,
        ok: !timedOut && !endedBy && exitCode === 0,
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
  if (result.endedBy) return `${result.command}: ended: ${result.endedBy} (its process group was killed)`;
  if (result.timedOut) return `${result.command}: timed out${result.timeoutMs === undefined ? '' : ` after ${formatDuration(result.timeoutMs)}`} (its process group was killed)`;
  const tail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${result.command}: exit ${result.exitCode ?? '?'}${tail ? `: ${tail}` : ''}`;
}

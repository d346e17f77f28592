import os from 'node:os';
import { endRunning, type RunningChild } from './shell.js';

/**
 * What may end an update run from outside: a signal (SIGTERM from `systemctl stop`,
 * SIGINT from Ctrl-C, SIGHUP from a closed terminal) or a closed stdout (`| head -1`,
 * EPIPE). None of them may leave a stopped namespace behind (DESIGN.md §5):
 * - before the first stop, the run ends promptly: the running program's process group
 *   is ended (it runs in a group of its own, so the terminal's Ctrl-C never reached
 *   it: a hanging `git fetch` would live on with parent 1), the interruption is said,
 *   and the process exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM);
 * - after it (the critical section), the signal is only noted: the run finishes the
 *   step it is in, stops waiting for health, and rolls back.
 * Output errors are ignored (the log file has everything).
 */
export interface Interrupts {
  /** The signal received inside the critical section, if any. */
  requested(): NodeJS.Signals | undefined;
  /**
   * Between the journal write and the end of the swap (or its rollback) a signal is only
   * noted. Outside it nothing is stopped, and a signal ends the run at once.
   */
  critical(on: boolean): void;
  /** Who says what a signal did (the run's log): noted in the critical section, or ended the run (with what it ended). */
  onSignal(listener: (signal: NodeJS.Signals, effect: { kind: 'noted' } | { kind: 'ended'; children: RunningChild[] }) => void): void;
  /** Whether stdout was closed by the reader (later writes are dropped). */
  stdoutClosed(): boolean;
  /** Writes to stdout unless it is closed; never throws. */
  write(text: string): void;
  dispose(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** The shell's convention for a process ended by a signal. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}

/** Arms the guard on the real process (the only place the update touches process signals). */
export function guardProcess(): Interrupts {
  let signal: NodeJS.Signals | undefined;
  let closed = false;
  let inCritical = false;
  let ending: NodeJS.Signals | undefined;
  let listener: Parameters<Interrupts['onSignal']>[0] | undefined;
  const tell = (...args: Parameters<NonNullable<typeof listener>>) => {
    try {
      listener?.(...args);
    } catch {
      // saying it must not keep the run from ending
    }
  };
  const exit = (name: NodeJS.Signals, children: RunningChild[]) => {
    tell(name, { kind: 'ended', children });
    process.exit(signalExitCode(name));
  };
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      if (ending) return; // a second Ctrl-C while the first one's children end
      if (!inCritical) {
        ending = name;
        // Nothing is stopped: end what runs under us, say so, exit as the signal would.
        void endRunning().then((children) => exit(name, children));
        return;
      }
      if (!signal) tell(name, { kind: 'noted' });
      signal ??= name;
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  const onError = (error: NodeJS.ErrnoException) => {
    // EPIPE (reader gone) and friends: the log file keeps every line.
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED' || error.code === 'EBADF') closed = true;
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', () => undefined);
  return {
    requested: () => signal,
    critical: (on) => {
      // A run that is ending must not enter the critical section (its stop would outlive it).
      if (on && ending) exit(ending, []);
      inCritical = on;
    },
    onSignal: (fn) => {
      listener = fn;
    },
    stdoutClosed: () => closed,
    write(text) {
      if (closed) return;
      try {
        process.stdout.write(text);
      } catch {
        closed = true;
      }
    },
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
      process.stdout.off('error', onError);
    },
  };
}

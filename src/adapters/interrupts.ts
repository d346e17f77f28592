/**
 * What may end an update run from outside: a signal (SIGTERM from `systemctl stop`,
 * SIGINT from Ctrl-C, SIGHUP from a closed terminal) or a closed stdout (`| head -1`,
 * EPIPE). None of them may leave a stopped namespace behind (DESIGN.md §5): the run
 * notes the signal, finishes the step it is in, rolls back, and exits; output errors
 * are ignored (the log file has everything).
 */
export interface Interrupts {
  /** The signal received inside the critical section, if any. */
  requested(): NodeJS.Signals | undefined;
  /**
   * Between the journal write and the end of the swap (or its rollback) a signal is only
   * noted. Outside it nothing is stopped, and a signal ends the run at once, as usual.
   */
  critical(on: boolean): void;
  /** Whether stdout was closed by the reader (later writes are dropped). */
  stdoutClosed(): boolean;
  /** Writes to stdout unless it is closed; never throws. */
  write(text: string): void;
  dispose(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** Arms the guard on the real process (the only place the update touches process signals). */
export function guardProcess(onSignal?: (signal: NodeJS.Signals) => void): Interrupts {
  let signal: NodeJS.Signals | undefined;
  let closed = false;
  let inCritical = false;
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      if (!inCritical) {
        // Nothing is stopped: die of the signal as an unguarded process would.
        for (const [n, h] of handlers) process.off(n, h);
        process.kill(process.pid, name);
        return;
      }
      signal ??= name;
      onSignal?.(name);
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
      inCritical = on;
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

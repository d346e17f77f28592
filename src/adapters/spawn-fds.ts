import { spawn } from 'node:child_process';
import type { RunResult } from './shell.js';

/**
 * Runs a short program that is handed open descriptors as its fds 3, 4, ...
 * (util-linux `flock 3` locking ours). This is the one subprocess outside
 * shell.ts, for the timer's no-op run: shell.ts loads execa, which would add
 * about 8 MiB and a good part of that run's wall time just to take the lock.
 * Same rules: argv array, explicit environment, a timeout (SIGKILL).
 */
export function runWithFds(
  file: string,
  args: readonly string[],
  options: { env: Readonly<Record<string, string | undefined>>; timeoutMs: number; fds: readonly number[] },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const command = [file, ...args].join(' ');
    let stderr = '';
    let settled = false;
    const done = (result: Omit<RunResult, 'command' | 'stdout'>) => {
      if (settled) return;
      settled = true;
      resolve({ command, stdout: '', ...result });
    };
    const child = spawn(file, args, {
      env: options.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', 'pipe', ...options.fds],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      done({ exitCode: undefined, stderr: error.message, timedOut: false, notFound: error.code === 'ENOENT' || error.code === 'EACCES', ok: false }));
    child.on('close', (code, signal) =>
      done({ exitCode: code ?? undefined, stderr: stderr.trim(), timedOut: signal === 'SIGKILL', notFound: false, ok: code === 0 }));
  });
}

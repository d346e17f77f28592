import { execa } from 'execa';

/**
 * The one way the toolkit runs other programs: an argv array, never a string for a
 * shell, always with a timeout, with the environment passed explicitly.
 */
export interface RunOptions {
  cwd?: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  input?: string;
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

export async function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env as Record<string, string>,
    extendEnv: false,
    timeout: options.timeoutMs,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    reject: false,
    stripFinalNewline: true,
    forceKillAfterDelay: 5000,
  });
  const stderr = String(result.stderr ?? '');
  const code = (result as { code?: string }).code;
  return {
    command: [file, ...args].join(' '),
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ''),
    stderr: stderr || (result.failed && result.exitCode === undefined ? String(result.message) : ''),
    timedOut: Boolean(result.timedOut),
    notFound: code === 'ENOENT' || code === 'EACCES',
    ok: !result.failed && result.exitCode === 0,
  };
}

/** One line saying how a command failed, for logs and error messages. */
export function describeFailure(result: RunResult): string {
  if (result.notFound) return `${result.command}: program not found or not executable`;
  if (result.timedOut) return `${result.command}: timed out`;
  const tail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${result.command}: exit ${result.exitCode ?? '?'}${tail ? `: ${tail}` : ''}`;
}

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
  /** Connects the terminal (stdin/stdout/stderr) for programs that may prompt (btcli); output is not captured. */
  interactive?: boolean;
  /**
   * On timeout, kill the program's whole process group. Without it a wrapper script's
   * child (a pm2 shim, a hung `sleep`) keeps the output pipe open and the call never
   * returns, nor does the CLI exit. Used by `status`, which must answer in seconds.
   */
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

export async function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: options.env as Record<string, string>,
    extendEnv: false,
    timeout: options.timeoutMs,
    input: options.input,
    ...(options.interactive ? { stdio: 'inherit' as const } : { stdin: options.input === undefined ? ('ignore' as const) : undefined }),
    reject: false,
    stripFinalNewline: true,
    forceKillAfterDelay: 5000,
    ...(options.killGroup ? { detached: true } : {}),
  });
  let groupKilled = false;
  const groupTimer = options.killGroup
    ? setTimeout(() => {
        groupKilled = true;
        try {
          if (subprocess.pid) process.kill(-subprocess.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }, options.timeoutMs)
    : undefined;
  const result = await subprocess;
  clearTimeout(groupTimer);
  const stderr = String(result.stderr ?? '');
  const code = (result as { code?: string }).code;
  return {
    command: [file, ...args].join(' '),
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ''),
    stderr: stderr || (result.failed && result.exitCode === undefined ? String(result.message) : ''),
    timedOut: Boolean(result.timedOut) || groupKilled,
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

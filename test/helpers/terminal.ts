import { shellQuote } from '../../src/core/envfile.js';
import { runAs, type StagedRun } from './user.js';

/**
 * Runs the staged CLI as the user inside a real pseudo-terminal (`script` from
 * util-linux), so that its stdout is a TTY exactly as in an operator's shell. The
 * terminal turns "\n" into "\r\n"; callers compare after normalising that.
 */
export async function cliInTerminal(run: StagedRun, args: string[], options: { env: Record<string, string>; cwd?: string; timeoutMs?: number; input?: string }) {
  const command = [process.execPath, run.cli, ...args].map(shellQuote).join(' ');
  const argv = ['-qfec', command, '/dev/null'];
  if (options.input !== undefined) {
    // A typed answer: `script` copies its stdin to the terminal.
    const { execa } = await import('execa');
    return execa('script', argv, {
      uid: run.user.uid, gid: run.user.gid, env: { USER: run.user.name, LOGNAME: run.user.name, TERM: 'xterm', ...options.env },
      extendEnv: false, cwd: options.cwd ?? options.env.HOME, reject: false, timeout: options.timeoutMs ?? 120_000, input: options.input,
    });
  }
  return runAs(run.user, 'script', argv, { env: { TERM: 'xterm', ...options.env }, cwd: options.cwd, timeoutMs: options.timeoutMs });
}

/** Control characters other than newline and tab (a pipe must get none). */
export const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(PROJECT_ROOT, 'bin', 'alphacore.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The JSON lines of stdout (for --json runs). */
  json: Record<string, unknown>[];
  /**
   * The last stdout line, when it is the result event (§5.3: with --json the last line
   * is the result, always); undefined when the last line is anything else.
   */
  result: Record<string, unknown> | undefined;
}

/** Runs the built CLI as a separate process, exactly as a user or the timer would. */
export async function runCli(args: string[], options: { env: Record<string, string>; cwd?: string; timeoutMs?: number }): Promise<CliResult> {
  const child = await execa(process.execPath, [CLI, ...args], {
    env: options.env,
    extendEnv: false,
    cwd: options.cwd ?? options.env.HOME,
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
    stdin: 'ignore',
  });
  return toCliResult(child);
}

/** Exit code, output and the JSON lines of a finished CLI process. */
export function toCliResult(child: { exitCode?: number; stdout?: unknown; stderr?: unknown }): CliResult {
  const json: Record<string, unknown>[] = [];
  for (const line of String(child.stdout).split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      json.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a JSON line
    }
  }
  return {
    exitCode: child.exitCode ?? -1,
    stdout: String(child.stdout),
    stderr: String(child.stderr),
    json,
    result: lastLineResult(String(child.stdout)),
  };
}

function lastLineResult(stdout: string): Record<string, unknown> | undefined {
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  try {
    const parsed = JSON.parse(last) as Record<string, unknown>;
    return parsed.event === 'result' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

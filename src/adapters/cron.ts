import type { Context } from '../core/context.js';
import { OperationError } from '../core/errors.js';
import { describeFailure, run } from './shell.js';

/** The user's crontab through the `crontab` program (never the spool files directly). */
const TIMEOUT_MS = 15_000;

export async function crontabAvailable(ctx: Context): Promise<boolean> {
  const result = await run('crontab', ['-l'], { env: ctx.env, timeoutMs: TIMEOUT_MS });
  return !result.notFound && !result.timedOut;
}

/** The current crontab text ('' when the user has none), newline-terminated as stored. */
export async function readCrontab(ctx: Context): Promise<string> {
  const result = await run('crontab', ['-l'], { env: ctx.env, timeoutMs: TIMEOUT_MS });
  if (result.ok) return result.stdout === '' ? '' : `${result.stdout}\n`; // the shell adapter strips one final newline
  if (/no crontab for/i.test(result.stderr)) return '';
  throw new OperationError(`cannot read the crontab: ${describeFailure(result)}`);
}

export async function writeCrontab(ctx: Context, text: string): Promise<void> {
  const result = await run('crontab', ['-'], { env: ctx.env, timeoutMs: TIMEOUT_MS, input: text });
  if (!result.ok) throw new OperationError(`cannot install the crontab: ${describeFailure(result)}`);
}

import fs from 'node:fs';
import type { Pm2, Pm2App, Pm2Process } from '../../adapters/pm2.js';
import { readConfig, type ConfigInput } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { OperationError, UserError } from '../../core/errors.js';
import { waitForStableProcess } from '../health.js';

/** How long launch waits for the validator (the update's HEALTH_STABLE and HEALTH_TIMEOUT, §5 step 13). */
export interface LaunchHealth {
  stableMs: number;
  timeoutMs: number;
}

/**
 * HEALTH_STABLE / HEALTH_TIMEOUT with the update's own precedence and parsing (the
 * config reader): environment, else the existing auto-update config, else the defaults.
 * The rest of that config is launch's to rewrite, so only these two keys may stop it.
 */
export function launchHealth(input: ConfigInput): LaunchHealth {
  const reading = readConfig(input, 'salvage');
  const wrong = (['HEALTH_STABLE', 'HEALTH_TIMEOUT'] as const).flatMap((key) => reading.keyProblems.get(key) ?? []);
  if (wrong.length > 0) throw new UserError(`${wrong.join('\n')} Nothing was changed.`, { problems: wrong });
  return { stableMs: reading.config.healthStableMs, timeoutMs: reading.config.healthTimeoutMs };
}

/** The last `n` lines of a log file ('' when it cannot be read). */
export function tailLines(file: string | undefined, n: number): string {
  if (!file) return '';
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').filter((l) => l.trim() !== '').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/**
 * launch is done only when the validator is healthy: online, no restart for
 * HEALTH_STABLE (the update's own check). A process left running because it already had
 * these settings and has been up longer than that is healthy at once. Otherwise
 * OperationError with the last lines of its error log and how to read more.
 */
export async function awaitHealthyValidator(ctx: Context, pm2: Pm2, app: Pm2App, proc: Pm2Process, health: LaunchHealth, leftRunning: boolean): Promise<void> {
  const now = () => ctx.now().getTime();
  if (leftRunning && proc.status === 'online' && proc.uptimeSince !== undefined && now() - proc.uptimeSince >= health.stableMs) return;
  ctx.stdout(`Waiting until ${app.name} is online with no restart for ${Math.round(health.stableMs / 1000)}s...\n`);
  const result = await waitForStableProcess(pm2, app.namespace, app.name, {
    stableMs: health.stableMs,
    timeoutMs: health.timeoutMs,
    now,
    baselineRestarts: leftRunning ? proc.restarts : 0,
  });
  if (result.ok) {
    ctx.stdout(`Healthy: ${result.detail}.\n`);
    return;
  }
  const latest = (await pm2.list(app.namespace).catch(() => [] as Pm2Process[])).find((p) => p.name === app.name);
  const errorLog = latest?.errorLog ?? app.policy?.errorFile;
  const tail = tailLines(errorLog, 15);
  const lines = [
    `The validator did not become healthy: ${result.detail}.`,
    tail ? `Last lines of its error log ${errorLog}:\n${tail.split('\n').map((l) => `  | ${l}`).join('\n')}` : `Its error log ${errorLog ?? '(unknown)'} is empty or unreadable.`,
    `Read more: pm2 logs ${app.name} --lines 200${errorLog ? `   (or: tail -n 200 ${errorLog})` : ''}`,
    'The process list was not saved (pm2 save) and the auto-update config and scheduler were not installed. Fix the cause and run launch again.',
  ];
  throw new OperationError(lines.join('\n'));
}

import fs from 'node:fs';
import * as cron from '../adapters/cron.js';
import type { Context } from '../core/context.js';
import { UserError } from '../core/errors.js';
import { cronSchedule, cronScheduleMs, nextCronRun, type Interval } from '../core/interval.js';
import { formatDuration } from '../core/duration.js';
import { renderCronLine, type RunSpec, type Templates } from '../render/scheduler.js';
import { withoutLines } from './bash-legacy.js';
import { findLine, removeLine, upsertLine } from './crontab-edit.js';

/** The crontab fallback: one line per namespace, found again by its marker. */

// Debian's cron reads at most 1000 characters of a command; a longer line would
// be cut silently, so it is refused instead.
const MAX_LINE = 990;

export function planCronLine(templates: Templates, spec: RunSpec, interval: Interval, flag: string): string {
  const line = renderCronLine(templates, spec, cronSchedule(interval, flag));
  if (line.length > MAX_LINE) {
    throw new UserError(`the crontab line would be ${line.length} characters; cron reads at most about 1000.`, {
      hint: 'Shorten PATH (it is captured for pm2) or move the config and the package to shorter paths, then run again.',
    });
  }
  return line;
}

/**
 * Installs the line and, in the same write, removes `replacing` (the bash updater's
 * lines for this namespace); returns whether the crontab changed.
 */
export async function applyCronLine(ctx: Context, namespace: string, line: string, replacing: readonly string[] = []): Promise<boolean> {
  const before = await cron.readCrontab(ctx);
  const after = upsertLine(withoutLines(before, replacing), namespace, line);
  if (after === before) return false;
  await cron.writeCrontab(ctx, after);
  return true;
}

/** Removes the namespace's line, if any; returns it. */
export async function removeCronLine(ctx: Context, namespace: string): Promise<string | undefined> {
  if (!(await cron.crontabAvailable(ctx))) return undefined;
  const before = await cron.readCrontab(ctx);
  const line = findLine(before, namespace);
  if (line === undefined) return undefined;
  await cron.writeCrontab(ctx, removeLine(before, namespace));
  return line;
}

export interface CronState {
  line: string;
  interval?: string;
  nextRun?: string;
}

export async function cronState(ctx: Context, namespace: string): Promise<CronState | undefined> {
  if (!(await cron.crontabAvailable(ctx))) return undefined;
  const line = findLine(await cron.readCrontab(ctx), namespace);
  if (line === undefined) return undefined;
  const schedule = line.split(' ').slice(0, 5).join(' ');
  const ms = cronScheduleMs(schedule);
  return { line, interval: ms === undefined ? undefined : formatDuration(ms), nextRun: nextCronRun(schedule, ctx.now())?.toISOString() };
}

/** A crontab line does nothing without the daemon; Debian's and cronie's write this pid file. */
export function cronDaemonSeen(): boolean {
  for (const file of ['/run/crond.pid', '/var/run/crond.pid']) {
    try {
      const pid = fs.readFileSync(file, 'utf8').trim();
      if (/^\d+$/.test(pid) && fs.existsSync(`/proc/${pid}`)) return true;
    } catch {
      // no such pid file
    }
  }
  return false;
}

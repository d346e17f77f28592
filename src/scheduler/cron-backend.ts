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

/** Removes the namespace's line, if any (a dry run only finds it); returns it. */
export async function removeCronLine(ctx: Context, namespace: string, dryRun = false): Promise<string | undefined> {
  if (!(await cron.crontabAvailable(ctx))) return undefined;
  const before = await cron.readCrontab(ctx);
  const line = findLine(before, namespace);
  if (line === undefined || dryRun) return line;
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

/** Daemon program names: Debian's cron, cronie's and busybox's crond, fcron. */
const CRON_DAEMONS = new Set(['cron', 'crond', 'fcron']);
const PID_FILES = ['/run/crond.pid', '/var/run/crond.pid', '/run/cron.pid', '/var/run/cron.pid', '/run/fcron.pid'];

export interface CronDaemonState {
  /** undefined: cannot tell (/proc hides other users' processes and no pid file says). */
  running: boolean | undefined;
  pid?: number;
}

function aliveAnyOwner(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a cron daemon runs on this machine: a crontab line does nothing without
 * one. Scans /proc for the daemon by name (Debian's cron writes no pid file when
 * started by systemd), then the pid files daemons write.
 */
export function cronDaemonState(procDir = '/proc'): CronDaemonState {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(procDir).filter((name) => /^\d+$/.test(name));
  } catch {
    // no /proc: the pid files below are all there is
  }
  for (const name of entries) {
    try {
      if (CRON_DAEMONS.has(fs.readFileSync(`${procDir}/${name}/comm`, 'utf8').trim())) return { running: true, pid: Number(name) };
    } catch {
      // the process ended, or /proc hides it
    }
  }
  for (const file of PID_FILES) {
    try {
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && aliveAnyOwner(pid)) return { running: true, pid };
    } catch {
      // no such pid file
    }
  }
  // With /proc mounted hidepid, init (pid 1) is invisible to us: absence proves nothing.
  return { running: entries.includes('1') ? false : undefined };
}

/** What to do when no cron daemon runs, for messages (status, autoupdate, launch). */
export const NO_CRON_FIX =
  'Start it: sudo systemctl enable --now cron (crond on Fedora/RHEL); if it is not installed: sudo apt-get install cron. ' +
  'Or use a systemd user timer instead: log in with a systemd user session (sudo loginctl enable-linger $USER) and run alphacore autoupdate enable again.';

/** Kept for callers that only need yes/no: an unknown answer counts as seen (no false alarm). */
export function cronDaemonSeen(): boolean {
  return cronDaemonState().running !== false;
}

import type { Context } from '../core/context.js';
import { OperationError } from '../core/errors.js';

/**
 * The auto-update scheduler (DESIGN.md §6). launch calls installScheduler; the
 * `autoupdate` command calls all three. Interface fixed here; body: scheduler issue.
 */
export interface SchedulerRequest {
  namespace: string;
  /** Absolute path of the namespace's auto-update config (what the timer runs with). */
  configFile: string;
  /** systemd time span, e.g. "2m". */
  interval: string;
  enableLinger: boolean;
  /** Print what would be installed, change nothing. */
  dryRun: boolean;
}

export interface SchedulerReport {
  kind: 'systemd' | 'cron' | 'none';
  /** Human lines for the operator: what was installed, next run, log path, linger advice. */
  lines: string[];
}

export async function installScheduler(_ctx: Context, _request: SchedulerRequest): Promise<SchedulerReport> {
  throw new OperationError('the scheduler is not built yet (issue 5); rerun with --no-autoupdate');
}

export async function removeScheduler(_ctx: Context, _namespace: string): Promise<SchedulerReport> {
  throw new OperationError('the scheduler is not built yet (issue 5)');
}

export interface SchedulerStatus {
  kind: 'systemd' | 'cron' | 'none' | 'unknown';
  /** Timer active / crontab line present. */
  active: boolean;
  /** ISO time of the next run when known (systemd). */
  nextRun?: string;
  interval?: string;
  /** Linger on (systemd user timers survive logout); undefined when unknown. */
  linger?: boolean;
  detail: string;
}

/** What is installed for a namespace now; never throws (a failed probe is `unknown`). */
export async function schedulerStatus(_ctx: Context, _namespace: string): Promise<SchedulerStatus> {
  return { kind: 'unknown', active: false, detail: 'the scheduler is not built yet (issue 5)' };
}

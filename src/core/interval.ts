import { formatDuration, parseDurationMs } from './duration.js';
import { UserError } from './errors.js';

/**
 * The auto-update interval (DESIGN.md §6): a systemd time span, translated for
 * cron when cron is the scheduler. Pure: unit-tested on data.
 */
export interface Interval {
  ms: number;
  /** The span as systemd reads it (`2m`, `90s`, `1500ms`). */
  systemd: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Every interval a `*\/N` step can express evenly, shortest first. */
export const CRON_INTERVALS_MS: readonly number[] = [
  ...[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].map((m) => m * MINUTE),
  ...[1, 2, 3, 4, 6, 8, 12, 24].map((h) => h * HOUR),
];

/** Parses `--interval`-style input; `flag` names where the value came from. */
export function parseInterval(text: string, flag: string): Interval {
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    throw new UserError(`${flag}: ${JSON.stringify(text)} is not a time span.`, {
      hint: 'Use systemd syntax such as 90s, 2m, 2min, 1h or 1h30m.',
    });
  }
  if (ms < 1000) {
    throw new UserError(`${flag}: ${JSON.stringify(text)} is shorter than 1s; the updater cannot run more often than once a second.`, {
      hint: `Pass ${flag} 2m (the default) or any span of at least 1s.`,
    });
  }
  const rounded = Math.round(ms);
  return { ms: rounded, systemd: rounded % 1000 === 0 ? formatDuration(rounded) : `${rounded}ms` };
}

/**
 * The cron schedule for an interval: minutes dividing 60 -> `*\/N * * * *`, whole
 * hours dividing 24 -> `0 *\/H * * *`. Anything else is a UserError naming the
 * nearest intervals cron can express: silently running at another rate (what the
 * bash version did) is worse than refusing.
 */
export function cronSchedule(interval: Interval, flag: string): string {
  const { ms } = interval;
  if (ms % HOUR === 0 && 24 % (ms / HOUR) === 0) return `0 */${ms / HOUR} * * *`;
  if (ms % MINUTE === 0 && ms < HOUR && 60 % (ms / MINUTE) === 0) return `*/${ms / MINUTE} * * * *`;
  const near = nearestCronIntervals(ms).map(formatDuration);
  throw new UserError(
    `${flag}: cron cannot run every ${formatDuration(ms)}${formatDuration(ms) === interval.systemd ? '' : ` (${interval.systemd})`}; it only expresses minutes that divide 60 and hours that divide 24.`,
    { hint: `Use ${near.join(' or ')} instead (cron is used because systemctl --user is not available here).` },
  );
}

/**
 * The interval checked as the scheduler will check it, as one problem line (message and
 * hint) for a command's list of problems, or undefined when it is fine. `scheduler`
 * 'cron' adds cron's limits; undefined (not known yet) checks the span only.
 */
export function intervalProblem(text: string, flag: string, scheduler?: 'systemd' | 'cron'): string | undefined {
  try {
    const interval = parseInterval(text, flag);
    if (scheduler === 'cron') cronSchedule(interval, flag);
    return undefined;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return `${error.message}${error.hint ? ` ${error.hint}` : ''}`;
  }
}

/** The valid cron intervals on either side of `ms` (one when `ms` is outside the range). */
export function nearestCronIntervals(ms: number): number[] {
  const below = CRON_INTERVALS_MS.filter((v) => v < ms).at(-1);
  const above = CRON_INTERVALS_MS.find((v) => v > ms);
  return [below, above].filter((v): v is number => v !== undefined);
}

/** Reads a schedule this module rendered back into milliseconds (for status). */
export function cronScheduleMs(schedule: string): number | undefined {
  const minutes = /^\*\/(\d+) \* \* \* \*$/.exec(schedule);
  if (minutes) return Number(minutes[1]) * MINUTE;
  const hours = /^0 \*\/(\d+) \* \* \*$/.exec(schedule);
  if (hours) return Number(hours[1]) * HOUR;
  return undefined;
}

/** When a `cronSchedule` line fires next after `now` (cron fires at second 0, local time). */
export function nextCronRun(schedule: string, now: Date): Date | undefined {
  const ms = cronScheduleMs(schedule);
  if (ms === undefined) return undefined;
  const next = new Date(now.getTime());
  next.setSeconds(0, 0);
  if (ms < HOUR) {
    const step = ms / MINUTE;
    do next.setMinutes(next.getMinutes() + 1);
    while (next.getMinutes() % step !== 0);
    return next;
  }
  const step = ms / HOUR;
  next.setMinutes(0);
  do next.setHours(next.getHours() + 1);
  while (next.getHours() % step !== 0);
  return next;
}

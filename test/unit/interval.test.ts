import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { cronSchedule, cronScheduleMs, intervalProblem, nearestCronIntervals, nextCronRun, parseInterval } from '../../src/core/interval.js';

const cron = (text: string) => cronSchedule(parseInterval(text, '--interval'), '--interval');

function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

describe('parseInterval', () => {
  it.each([
    ['2m', 120_000, '2m'],
    ['2min', 120_000, '2m'],
    ['90s', 90_000, '1m30s'],
    ['1h', 3_600_000, '1h'],
    ['1h30m', 5_400_000, '1h30m'],
    ['1h 30m', 5_400_000, '1h30m'],
    ['5', 5_000, '5s'],
    ['1500ms', 1_500, '1500ms'],
    ['1s', 1_000, '1s'],
  ])('%s -> %d ms, systemd %s', (text, ms, systemd) => {
    expect(parseInterval(text, '--interval')).toEqual({ ms, systemd });
  });

  it.each(['', 'two minutes', '2 fortnights', '-2m', '2m!', '0x10'])('refuses %j naming the flag', (text) => {
    const error = userError(() => parseInterval(text, '--autoupdate-interval'));
    expect(error.message).toContain('--autoupdate-interval');
    expect(error.hint).toContain('2m');
  });

  it('refuses spans under one second', () => {
    expect(userError(() => parseInterval('500ms', '--interval')).message).toMatch(/shorter than 1s/);
    expect(userError(() => parseInterval('0s', '--interval')).message).toMatch(/shorter than 1s/);
  });
});

describe('cronSchedule', () => {
  it.each([
    ['1m', '*/1 * * * *'],
    ['2m', '*/2 * * * *'],
    ['120s', '*/2 * * * *'],
    ['15min', '*/15 * * * *'],
    ['30m', '*/30 * * * *'],
    ['60m', '0 */1 * * *'],
    ['1h', '0 */1 * * *'],
    ['6h', '0 */6 * * *'],
    ['24h', '0 */24 * * *'],
    ['1d', '0 */24 * * *'],
  ])('%s -> %s', (text, schedule) => {
    expect(cron(text)).toBe(schedule);
    expect(cronScheduleMs(schedule)).toBe(parseInterval(text, 'x').ms);
  });

  it.each([
    ['30s', ['1m']],
    ['90s', ['1m', '2m']],
    ['7m', ['6m', '10m']],
    ['45m', ['30m', '1h']],
    ['1h30m', ['1h', '2h']],
    ['5h', ['4h', '6h']],
    ['2d', ['1d']],
  ])('refuses %s, naming %j', (text, nearest) => {
    const error = userError(() => cron(text));
    expect(error.message).toContain('--interval');
    expect(error.message).toContain('cron cannot');
    expect(error.hint).toBe(`Use ${nearest.join(' or ')} instead (cron is used because systemctl --user is not available here).`);
  });

  it('never silently changes the interval (the bash bugs: 90s -> 2m, */90 -> hourly)', () => {
    expect(() => cron('90m')).toThrow(UserError);
    expect(() => cron('90s')).toThrow(UserError);
  });

  it('names neighbours on both sides, or one at the ends', () => {
    expect(nearestCronIntervals(7 * 60_000)).toEqual([6 * 60_000, 10 * 60_000]);
    expect(nearestCronIntervals(1000)).toEqual([60_000]);
    expect(nearestCronIntervals(48 * 3_600_000)).toEqual([24 * 3_600_000]);
  });
});

describe('nextCronRun', () => {
  it('finds the next matching minute', () => {
    const now = new Date(2026, 0, 1, 10, 3, 25);
    expect(nextCronRun('*/2 * * * *', now)).toEqual(new Date(2026, 0, 1, 10, 4, 0));
    expect(nextCronRun('*/15 * * * *', now)).toEqual(new Date(2026, 0, 1, 10, 15, 0));
    expect(nextCronRun('*/1 * * * *', new Date(2026, 0, 1, 10, 59, 0))).toEqual(new Date(2026, 0, 1, 11, 0, 0));
  });

  it('finds the next matching hour', () => {
    expect(nextCronRun('0 */6 * * *', new Date(2026, 0, 1, 10, 3))).toEqual(new Date(2026, 0, 1, 12, 0, 0));
    expect(nextCronRun('0 */24 * * *', new Date(2026, 0, 1, 10, 3))).toEqual(new Date(2026, 0, 2, 0, 0, 0));
  });

  it('gives up on schedules it did not write', () => {
    expect(nextCronRun('5 4 * * sun', new Date())).toBeUndefined();
  });
});

describe('intervalProblem: the interval as the scheduler that would run it checks it', () => {
  it('cron: a span cron cannot express is one problem line with the nearest valid ones', () => {
    expect(intervalProblem('7m', '--autoupdate-interval', 'cron')).toBe(
      '--autoupdate-interval: cron cannot run every 7m; it only expresses minutes that divide 60 and hours that divide 24. ' +
        'Use 6m or 10m instead (cron is used because systemctl --user is not available here).',
    );
    expect(intervalProblem('5m', '--interval', 'cron')).toBeUndefined();
  });

  it('systemd, or not known yet: any span of at least 1s', () => {
    expect(intervalProblem('7m', '--interval', 'systemd')).toBeUndefined();
    expect(intervalProblem('7m', '--interval')).toBeUndefined();
    expect(intervalProblem('soon', '--interval', 'systemd')).toMatch(/^--interval: "soon" is not a time span\. Use systemd syntax/);
    expect(intervalProblem('500ms', 'ALPHACORE_AUTOUPDATE_INTERVAL')).toMatch(/^ALPHACORE_AUTOUPDATE_INTERVAL: "500ms" is shorter than 1s/);
  });
});

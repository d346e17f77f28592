import { describe, expect, it } from 'vitest';
import { keepDown, wasUp } from '../../src/commands/update/converge-check.js';
import { countRun, lastOutcome } from '../../src/core/metrics.js';
import { planConverge, type ConvergeFacts } from '../../src/commands/update/converge-plan.js';
import { countHostFault, judgeFault } from '../../src/commands/update/fault.js';
import { failedAgain, retryDelayMs, retryDue } from '../../src/core/retry.js';
import type { UpdateState } from '../../src/core/state.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const expected = { api: 'api', validator: 'validator' };
const online = (name: string, pmId: number) => ({ name, status: 'online', pmId, pid: 100 + pmId });
const base: ConvergeFacts = { daemon: 'alive', processes: [online('api', 0), online('validator', 1)], expected, orphans: [], force: false, nowMs: NOW };

describe('planConverge (pure: what PM2 shows -> restore or not)', () => {
  it('a namespace that runs needs nothing', () => {
    expect(planConverge(base)).toMatchObject({ kind: 'ok', orphans: [], stopped: [] });
  });

  it('a validator to start beside an API between two tries of a crash loop starts the API again first', () => {
    const plan = planConverge({ ...base, processes: [{ ...online('api', 0), status: 'waiting restart' }] });
    expect(plan).toMatchObject({ kind: 'restore', start: { api: true, validator: true }, reason: 'process-missing' });
    expect(planConverge({ ...base, processes: [{ ...online('api', 0), status: 'waiting restart' }, online('validator', 1)] })).toMatchObject({ kind: 'ok' });
  });

  it('a missing daemon restores both, API first, and ends the orphans it left', () => {
    const plan = planConverge({ ...base, daemon: 'gone', processes: [], orphans: [{ pid: 7, name: 'validator' }] });
    expect(plan).toMatchObject({ kind: 'restore', start: { api: true, validator: true }, orphans: [7], reason: 'pm2-daemon-gone' });
    expect(plan.notes.map((n) => n.text).join('\n')).toContain('validator (pid 7)');
  });

  it('restores only what is missing or errored', () => {
    const errored = planConverge({ ...base, processes: [online('api', 0), { ...online('validator', 1), status: 'errored' }] });
    expect(errored).toMatchObject({ kind: 'restore', start: { api: false, validator: true }, reason: 'process-errored' });
    const missing = planConverge({ ...base, processes: [online('validator', 1)] });
    expect(missing).toMatchObject({ kind: 'restore', start: { api: true, validator: false }, reason: 'process-missing' });
  });

  it('a process the operator stopped stays stopped (and is said)', () => {
    const plan = planConverge({ ...base, processes: [online('api', 0), { ...online('validator', 1), status: 'stopped' }] });
    expect(plan).toMatchObject({ kind: 'ok', stopped: ['validator'] });
    // The validator stopped, the API missing: the API alone comes back.
    expect(planConverge({ ...base, processes: [{ ...online('validator', 1), status: 'stopped' }] })).toMatchObject({ kind: 'restore', start: { api: true, validator: false }, stopped: ['validator'] });
  });

  it('orphans are ended even when the namespace runs (a second validator of the same hotkey)', () => {
    expect(planConverge({ ...base, orphans: [{ pid: 9, name: 'validator' }] })).toMatchObject({ kind: 'ok', orphans: [9] });
  });

  it('without the API (--disable-validation-api) only the validator is expected', () => {
    expect(planConverge({ ...base, expected: { validator: 'validator' }, processes: [online('validator', 1)] })).toMatchObject({ kind: 'ok' });
  });

  it('a failed restore waits for its retry unless --force', () => {
    const retry = failedAgain(failedAgain(failedAgain(failedAgain(undefined, NOW, 'x'), NOW, 'x'), NOW, 'x'), NOW, 'ENOSPC');
    expect(retry.attempts).toBe(4);
    const down = { ...base, daemon: 'gone' as const, processes: [], retry };
    expect(planConverge(down)).toMatchObject({ kind: 'wait' });
    expect(planConverge(down).notes[0]!.text).toContain('ENOSPC');
    expect(planConverge({ ...down, force: true })).toMatchObject({ kind: 'restore' });
    expect(planConverge({ ...down, nowMs: NOW + 4 * 60_000 })).toMatchObject({ kind: 'restore' });
  });
});

describe('keepDown: a run that leaves the namespace down never ends up-to-date', () => {
  it('turns up-to-date, skipped and deferred into failed/restore while the namespace is down; leaves the rest', () => {
    const down = { down: 'no PM2 daemon runs' };
    expect(keepDown({ outcome: 'up-to-date' }, down)).toMatchObject({ outcome: 'failed', reason: 'restore', detail: expect.stringContaining('no PM2 daemon') });
    expect(keepDown({ outcome: 'skipped', reason: 'quarantined' }, down)).toMatchObject({ outcome: 'failed', reason: 'restore' });
    expect(keepDown({ outcome: 'deferred', reason: 'round-active' }, down)).toMatchObject({ outcome: 'failed', reason: 'restore' });
    // An update starts the services itself: its own outcome stands.
    expect(keepDown({ outcome: 'updated' }, down)).toEqual({ outcome: 'updated' });
    expect(keepDown({ outcome: 'up-to-date' }, {})).toEqual({ outcome: 'up-to-date' });
    expect(keepDown({ outcome: 'up-to-date' }, undefined)).toEqual({ outcome: 'up-to-date' });
  });
});

describe('retries of a failed rollback or restore', () => {
  it('the next three runs retry at once, then after 4, 8, 16, 30, 30 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(n) / 60_000)).toEqual([0, 0, 0, 4, 8, 16, 30, 30]);
    const once = failedAgain(undefined, NOW, 'disk full');
    expect(once).toMatchObject({ attempts: 1, since: new Date(NOW).toISOString(), nextRetryAt: new Date(NOW).toISOString() });
    expect(retryDue(once, NOW, false)).toBe(true);
    const fourth = { ...once, attempts: 4, nextRetryAt: new Date(NOW + 240_000).toISOString() };
    expect(retryDue(fourth, NOW, false)).toBe(false);
    expect(retryDue(fourth, NOW, true)).toBe(true);
  });
});

describe('whose fault (§5.1)', () => {
  const disk = [{ dir: '/srv/AlphaCore', bytes: 10 * 1024 ** 3 }];
  it('a release that failed under a live daemon with disk to spare is its own fault', () => {
    expect(judgeFault({ daemonBefore: 10, daemonNow: 10, free: disk })).toBeUndefined();
  });
  it('a daemon that died (or was replaced) during the swap is the machine\'s fault', () => {
    expect(judgeFault({ daemonBefore: 10, daemonNow: undefined, free: disk })).toMatchObject({ reason: 'pm2-daemon-died' });
    expect(judgeFault({ daemonBefore: 10, daemonNow: 11, free: disk })).toMatchObject({ reason: 'pm2-daemon-died' });
  });
  it('a full filesystem is the machine\'s fault; an unknown one is not counted', () => {
    expect(judgeFault({ daemonBefore: 10, daemonNow: 10, free: [{ dir: '/d', bytes: 4096 }] })).toMatchObject({ reason: 'disk-full', detail: expect.stringContaining('/d') });
    expect(judgeFault({ daemonBefore: 10, daemonNow: 10, free: [{ dir: '/d', bytes: undefined }] })).toBeUndefined();
  });
  it('the health module\'s pm2-silent and api-port-taken are the machine\'s fault; any other failure is the release\'s', () => {
    const alive = { daemonBefore: 10, daemonNow: 10, free: disk };
    expect(judgeFault({ ...alive, cause: 'pm2-silent', message: 'PM2 did not answer: timeout' })).toMatchObject({ reason: 'pm2-silent', detail: expect.stringContaining('PM2 did not answer') });
    expect(judgeFault({ ...alive, cause: 'api-port-taken', message: 'port 8888 held by pid 42 (user mallory)' })).toMatchObject({ reason: 'api-port-taken', detail: expect.stringContaining('pid 42') });
    expect(judgeFault({ ...alive, cause: 'failed', message: 'validator crashed' })).toBeUndefined();
    // A dead daemon also leaves PM2 silent: the daemon's death is the finding.
    expect(judgeFault({ ...alive, daemonNow: undefined, cause: 'pm2-silent' })).toMatchObject({ reason: 'pm2-daemon-died' });
  });
  it('a process deleted under the run (pm2 kill, pm2 delete) or stopped by SIGSTOP is the machine\'s fault', () => {
    const alive = { daemonBefore: 10, daemonNow: 10, free: disk };
    expect(judgeFault({ ...alive, cause: 'pm2-vanished', message: 'PM2 no longer has api' })).toMatchObject({ reason: 'pm2-processes-gone', detail: expect.stringContaining('PM2 no longer has api') });
    expect(judgeFault({ ...alive, cause: 'process-stopped', message: 'api (pid 7) is stopped by a signal' })).toMatchObject({ reason: 'process-stopped' });
  });
  it('a release is retried after three machine faults no more: unstable-host', () => {
    const state: UpdateState = { quarantine: [] };
    expect(countHostFault(state, 'b', 't1')).toEqual({ count: 1, exhausted: false });
    expect(countHostFault(state, 'b', 't2')).toEqual({ count: 2, exhausted: false });
    expect(countHostFault(state, 'c', 't3')).toEqual({ count: 1, exhausted: false });
    countHostFault(state, 'b', 't4');
    countHostFault(state, 'b', 't5');
    expect(countHostFault(state, 'b', 't6')).toEqual({ count: 3, exhausted: true });
  });
});

describe('wasUp (pure: is the namespace PM2\'s to lose?)', () => {
  const down = { api: 0, validator: 0 };
  const run = (outcome: string, at: string, pm2Up = down) => ({ at, outcome, from: 'a', to: 'b', pm2Up });

  it('a run that saw a pid file alive says so', () => {
    expect(wasUp({ metrics: countRun(undefined, run('up-to-date', '2026-01-01T00:00:00Z', { api: 1, validator: 1 })) })).toBe(true);
  });

  it('a namespace never seen up, or stopped whole by the operator, is left alone', () => {
    expect(wasUp({})).toBe(false);
    expect(wasUp({ metrics: countRun(undefined, run('up-to-date', '2026-01-01T00:00:00Z')) })).toBe(false);
  });

  it('a run that started the services and saw them healthy counts, even when pm2 kill emptied the pid files before its record', () => {
    for (const outcome of ['updated', 'restored', 'rolled-back']) {
      const metrics = countRun(countRun(undefined, run('up-to-date', '2026-01-01T00:00:00Z')), run(outcome, '2026-01-01T00:02:00Z'));
      expect(lastOutcome(metrics)).toBe(outcome);
      expect(wasUp({ metrics }), outcome).toBe(true);
    }
    // Only the last run's outcome counts: an update long ago, then a run that saw nothing up.
    const later = countRun(countRun(undefined, run('updated', '2026-01-01T00:00:00Z')), run('up-to-date', '2026-01-01T00:02:00Z'));
    expect(lastOutcome(later)).toBe('up-to-date');
    expect(wasUp({ metrics: later })).toBe(false);
  });
});

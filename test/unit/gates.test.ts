import { describe, expect, it } from 'vitest';
import { decideGates, decideTarget } from '../../src/commands/update/decide.js';
import { classifyApiAnswer, judgeRoundLock } from '../../src/domain/gates.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const HOUR = 3_600_000;
const alive = (pid: number) => pid === 4242;

describe('judgeRoundLock', () => {
  const judge = (content: string | undefined, mtime = NOW) => judgeRoundLock(content, mtime, NOW, 6 * HOUR, alive);

  it('absent when there is no file', () => {
    expect(judge(undefined).kind).toBe('absent');
  });
  it('live with a live pid and a fresh ts (seconds, ms or ISO)', () => {
    for (const ts of [NOW / 1000 - 60, NOW - 60_000, new Date(NOW - 60_000).toISOString()]) {
      const lock = judge(JSON.stringify({ round_id: 7, block: 100, ts, pid: 4242 }));
      expect(lock).toEqual({ kind: 'live', detail: 'round 7 at block 100, pid 4242' });
    }
  });
  it('stale when the pid is dead, whatever the ts', () => {
    const lock = judge(JSON.stringify({ round_id: 7, ts: NOW / 1000, pid: 999_999 }));
    expect(lock.kind).toBe('stale');
    expect(lock.kind === 'stale' && lock.detail).toContain('pid 999999 is not running');
  });
  it('stale when ts is older than ROUND_LOCK_MAX_AGE, even with a live pid', () => {
    expect(judge(JSON.stringify({ ts: NOW / 1000 - 7 * 3600, pid: 4242 })).kind).toBe('stale');
    expect(judge(JSON.stringify({ ts: NOW / 1000 - 5 * 3600, pid: 4242 })).kind).toBe('live');
  });
  it('unreadable content counts as live while the file is fresh', () => {
    expect(judge('garbage{').kind).toBe('live');
    expect(judge('[]').kind).toBe('live');
  });
  it('unreadable content untouched for longer than the max age is stale (never wedges)', () => {
    expect(judge('garbage{', NOW - 7 * HOUR).kind).toBe('stale');
  });
  it('without ts, the file mtime stands in', () => {
    expect(judge(JSON.stringify({ pid: 4242 }), NOW - 7 * HOUR).kind).toBe('stale');
    expect(judge(JSON.stringify({ pid: 4242 }), NOW - HOUR).kind).toBe('live');
  });
});

describe('classifyApiAnswer', () => {
  const ok = (body: string, status = 200) => classifyApiAnswer({ kind: 'response', status, body });
  it('idle on {"active":[]}', () => expect(ok('{"active":[]}')).toEqual({ kind: 'idle' }));
  it('busy on a non-empty active list', () => expect(ok('{"active":[{"id":1},{"id":2}]}')).toEqual({ kind: 'busy', jobs: 2 }));
  it('unknown on any other 2xx body', () => {
    expect(ok('not json').kind).toBe('unknown');
    expect(ok('{"jobs":[]}').kind).toBe('unknown');
    expect(ok('{"active":"none"}', 204).kind).toBe('unknown');
  });
  it('unreachable on non-2xx, errors and timeouts', () => {
    expect(ok('{"active":[]}', 500).kind).toBe('unreachable');
    expect(ok('', 404).kind).toBe('unreachable');
    expect(classifyApiAnswer({ kind: 'error', message: 'ECONNREFUSED' }).kind).toBe('unreachable');
  });
});

describe('decide', () => {
  it('up-to-date when HEAD equals the target', () => {
    expect(decideTarget({ head: 'a', target: 'a', quarantined: true, force: false })).toEqual({ outcome: 'up-to-date' });
  });
  it('any difference is an update (also backwards)', () => {
    expect(decideTarget({ head: 'b', target: 'a', quarantined: false, force: false })).toBeUndefined();
  });
  it('skips a quarantined target unless forced', () => {
    expect(decideTarget({ head: 'a', target: 'b', quarantined: true, force: false })).toEqual({ outcome: 'skipped', reason: 'quarantined' });
    expect(decideTarget({ head: 'a', target: 'b', quarantined: true, force: true })).toBeUndefined();
  });
  it('defers on a live round, a busy or unknown API; not on an unreachable one', () => {
    const idle = { kind: 'idle' } as const;
    expect(decideGates({ roundLock: { kind: 'live', detail: '' }, api: undefined })).toEqual({ outcome: 'deferred', reason: 'round-active' });
    expect(decideGates({ roundLock: { kind: 'absent' }, api: { kind: 'busy', jobs: 1 } })).toEqual({ outcome: 'deferred', reason: 'api-busy' });
    expect(decideGates({ roundLock: { kind: 'stale', detail: '' }, api: { kind: 'unknown', detail: '' } })).toEqual({ outcome: 'deferred', reason: 'api-unknown' });
    expect(decideGates({ roundLock: { kind: 'absent' }, api: { kind: 'unreachable', detail: '' } })).toBeUndefined();
    expect(decideGates({ roundLock: { kind: 'stale', detail: '' }, api: idle })).toBeUndefined();
  });
});

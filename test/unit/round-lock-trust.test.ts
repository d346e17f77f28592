import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectRoundLock, judgeRoundLock } from '../../src/domain/gates.js';
import { tempDir } from '../helpers/tmp.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const HOUR = 3_600_000;
const alive = (pid: number) => pid === 4242;

/** DESIGN.md §5 step 7: what another local user can plant must not defer updates forever. */
describe('round lock: stale by mtime, by a future ts, and by its owner', () => {
  it('a fresh ts in a file untouched for longer than ROUND_LOCK_MAX_AGE is stale (the mtime wins)', () => {
    const lock = judgeRoundLock(JSON.stringify({ round_id: 9, ts: NOW / 1000, pid: 4242 }), NOW - 7 * HOUR, NOW, 6 * HOUR, alive);
    expect(lock).toEqual({ kind: 'stale', detail: 'round 9: the file is untouched for 7h, longer than ROUND_LOCK_MAX_AGE' });
    // ROUND_LOCK_MAX_AGE=1s now helps too.
    expect(judgeRoundLock(JSON.stringify({ ts: NOW / 1000, pid: 4242 }), NOW - 2000, NOW, 1000, alive).kind).toBe('stale');
  });

  it('a ts more than 5 minutes in the future is stale; a clock a little ahead is not', () => {
    const ahead = judgeRoundLock(JSON.stringify({ ts: NOW / 1000 + 3600, pid: 4242 }), NOW, NOW, 6 * HOUR, alive);
    expect(ahead).toEqual({ kind: 'stale', detail: 'a round: its ts lies 1h in the future' });
    expect(judgeRoundLock(JSON.stringify({ ts: NOW / 1000 + 60, pid: 4242 }), NOW, NOW, 6 * HOUR, alive).kind).toBe('live');
  });

  it.skipIf(process.getuid?.() !== 0)('a file another user owns is ignored, naming the owner; the validator\'s own and root\'s count', () => {
    const dir = tempDir('alphacore-roundlock-');
    const file = path.join(dir, 'round.lock');
    fs.writeFileSync(file, JSON.stringify({ round_id: 1, ts: Date.now() / 1000, pid: process.pid }));
    const now = Date.now();
    // Owned by root (the test runs as root): trusted, live.
    expect(inspectRoundLock(file, now, 6 * HOUR, 4321).kind).toBe('live');
    fs.chownSync(file, 4321, 4321);
    expect(inspectRoundLock(file, now, 6 * HOUR, 4321).kind).toBe('live');
    fs.chownSync(file, 4999, 4999);
    const foreign = inspectRoundLock(file, now, 6 * HOUR, 4321);
    expect(foreign.kind).toBe('stale');
    expect(foreign.kind === 'stale' && foreign.detail).toMatch(/^the file belongs to uid 4999, not to the validator's user \(uid 4321\) nor root/);
    // A symlink planted by another user: its owner tells, before anything is followed.
    const link = path.join(dir, 'link.lock');
    fs.symlinkSync(file, link);
    fs.lchownSync(link, 4999, 4999);
    expect(inspectRoundLock(link, now, 6 * HOUR, 4321)).toMatchObject({ kind: 'stale', detail: expect.stringContaining('uid 4999') });
  });
});

import { describe, expect, it } from 'vitest';
import { describeHolders } from '../../src/adapters/lock-holder.js';
import { observeHeldLock } from '../../src/domain/lock-watch.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const MIN = 60_000;
const BUDGET = 49 * MIN;
const mallory = { pid: 700, uid: 1001, user: 'mallory', alive: true };

/** DESIGN.md §5 step 2: a lock nobody releases must not look like a quiet `locked` forever. */
describe('observeHeldLock (pure)', () => {
  it('dates a holder from the first run that saw it, and is over budget only past it', () => {
    const first = observeHeldLock(undefined, '/s/a.lock', [mallory], T0, BUDGET);
    expect(first).toMatchObject({ pid: 700, since: new Date(T0).toISOString(), overBudget: false, notified: false });
    const later = observeHeldLock({ ...first, notified: false }, '/s/a.lock', [mallory], T0 + 30 * MIN, BUDGET);
    expect(later).toMatchObject({ since: first.since, overBudget: false });
    const late = observeHeldLock(later, '/s/a.lock', [mallory], T0 + 50 * MIN, BUDGET);
    expect(late).toMatchObject({ since: first.since, overBudget: true, lastSeen: new Date(T0 + 50 * MIN).toISOString() });
  });

  it('a new holder (another pid, another lock file) starts over, and is told again', () => {
    const told = { ...observeHeldLock(undefined, '/s/a.lock', [mallory], T0, BUDGET), notified: true };
    expect(observeHeldLock(told, '/s/a.lock', [mallory], T0 + MIN, BUDGET).notified).toBe(true);
    const other = observeHeldLock(told, '/s/a.lock', [{ ...mallory, pid: 701 }], T0 + 60 * MIN, BUDGET);
    expect(other).toMatchObject({ pid: 701, since: new Date(T0 + 60 * MIN).toISOString(), overBudget: false, notified: false });
    expect(observeHeldLock(told, '/s/b.lock', [mallory], T0 + 60 * MIN, BUDGET)).toMatchObject({ overBudget: false, notified: false });
  });

  it('names holders for messages', () => {
    expect(describeHolders([mallory])).toBe('pid 700 (user mallory)');
    expect(describeHolders([{ pid: 9, uid: 4999, alive: true }])).toBe('pid 9 (user uid 4999)');
    expect(describeHolders([{ pid: 9, alive: false }])).toBe('pid 9 (no longer running; a process that inherited its descriptor holds it)');
    expect(describeHolders([])).toBe('a process /proc/locks does not name');
  });
});

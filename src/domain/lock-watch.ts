import fs from 'node:fs';
import path from 'node:path';
import { describeHolders, lockHolders, type LockHolder } from '../adapters/lock-holder.js';
import { writeAtomic } from '../adapters/atomic-write.js';
import { readRegular } from '../adapters/owned-files.js';

/**
 * What runs that found the overlap lock held have seen of its holder (DESIGN.md §5 step
 * 2): since when, by whom, whether it outlasted a run's budget and whether the webhook
 * was told. A file of its own beside the state, because the run that holds the lock
 * may be writing the state file right now; written only by runs that did not get the
 * lock, removed by the next run that does. `status` reads it.
 */
export interface LockWatch {
  lockfile: string;
  /** The holder this record follows (the first one /proc names). */
  pid: number;
  holders: LockHolder[];
  /** The first run that saw this holder (a lower bound on how long it has held). */
  since: string;
  lastSeen: string;
  /** Held longer than one update run may last (budget.ts): no run of ours holds that long. */
  overBudget: boolean;
  budgetMs: number;
  notified: boolean;
}

export function lockWatchFile(stateDir: string, namespace: string): string {
  return path.join(stateDir, `${namespace}.lock-watch.json`);
}

export function readLockWatch(file: string): LockWatch | undefined {
  try {
    const read = readRegular(file, 64 * 1024);
    if (!read) return undefined;
    const parsed = JSON.parse(read.text) as Partial<LockWatch>;
    if (typeof parsed.pid !== 'number' || typeof parsed.since !== 'string' || typeof parsed.lockfile !== 'string') return undefined;
    return { holders: [], lastSeen: parsed.since, overBudget: false, budgetMs: 0, notified: false, ...parsed } as LockWatch;
  } catch {
    return undefined;
  }
}

/** The next record after a run found the lock held `nowMs`; pure but for /proc (holders in). */
export function observeHeldLock(previous: LockWatch | undefined, lockfile: string, holders: LockHolder[], nowMs: number, budgetMs: number): LockWatch {
  const pid = holders[0]?.pid ?? 0;
  const same = previous !== undefined && previous.pid === pid && previous.lockfile === lockfile;
  const since = same ? previous.since : new Date(nowMs).toISOString();
  return {
    lockfile,
    pid,
    holders,
    since,
    lastSeen: new Date(nowMs).toISOString(),
    overBudget: nowMs - Date.parse(since) > budgetMs,
    budgetMs,
    notified: same ? previous.notified : false,
  };
}

export function writeLockWatch(file: string, watch: LockWatch): void {
  writeAtomic(file, `${JSON.stringify(watch, null, 2)}\n`, { mode: 0o600 });
}

/** Runs on every run that got the lock: one unlink (rmSync costs four times as much when absent). */
export function clearLockWatch(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // absent (the usual case); a leftover record is shown by status only while the lock is held
  }
}

/** The record, when the lock is still held right now (status: a released lock is news no more). */
export function currentLockWatch(file: string): LockWatch | undefined {
  const watch = readLockWatch(file);
  if (!watch) return undefined;
  const now = lockHolders(watch.lockfile);
  return now.length > 0 ? { ...watch, holders: now } : undefined;
}

export { describeHolders };

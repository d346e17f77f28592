import fs from 'node:fs';
import path from 'node:path';
import { writeFileSafely } from '../adapters/files.js';
import type { MetricsState } from './metrics.js';

/** Where an interrupted update was when it stopped (DESIGN.md §5 step 10, §5.1). */
export interface Journal {
  from: string;
  to: string;
  phase: string;
  startedAt: string;
  pid: number;
  /** true once the cycle is rolling back to `from`. */
  rollingBack?: boolean;
  /** true when that rollback itself failed: the next run retries it first. */
  rollbackFailed?: boolean;
}

export interface QuarantineEntry {
  sha: string;
  at: string;
  reason: string;
}

export interface LastRun {
  at: string;
  outcome: string;
  reason?: string;
  from?: string;
  to?: string;
}

export interface UpdateState {
  journal?: Journal;
  quarantine: QuarantineEntry[];
  lastRun?: LastRun;
  /** Start of the current unbroken run of deferrals, and whether it was notified. */
  deferral?: { since: string; notified: boolean };
  /** Counters and last-known values of the Prometheus metrics (§12); absent in older files. */
  metrics?: MetricsState;
  /** The last target refused for its signature that the webhook was told about (told once per commit). */
  unsignedNotified?: string;
  /**
   * Set by an update run that stopped because its config did not parse or validate
   * (DESIGN.md §5 step 1: under cron its stderr goes nowhere); removed by the next run
   * that reads the config. `status` shows it.
   */
  configError?: ConfigErrorRecord;
}

export interface ConfigErrorRecord {
  at: string;
  file: string;
  /** Every problem, one sentence each, as the run reported them. */
  problems: string[];
  /** Unknown or repeated keys found on the way (not fatal on their own). */
  warnings?: string[];
}

export function readState(file: string): UpdateState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { quarantine: [] };
  }
  try {
    const parsed = JSON.parse(text) as Partial<UpdateState>;
    return { ...parsed, quarantine: Array.isArray(parsed.quarantine) ? parsed.quarantine : [] };
  } catch {
    // A torn or hand-edited file must not wedge the updater; keep a copy for the operator.
    fs.copyFileSync(file, `${file}.corrupt`);
    return { quarantine: [] };
  }
}

export async function writeState(file: string, state: UpdateState): Promise<void> {
  await writeFileSafely(file, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/** One JSON line per run that changed something. */
export function appendHistory(file: string, record: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.appendFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

export function readHistory(file: string, limit = 50): Record<string, unknown>[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.trim().split('\n').slice(-limit)) {
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // skip a torn line
    }
  }
  return out;
}

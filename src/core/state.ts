import path from 'node:path';
import { writeAtomic } from '../adapters/atomic-write.js';
import type { RestartWait } from './restart-config.js';
import { appendOwned, NotRegularFile, readRegular } from '../adapters/owned-files.js';
import type { MetricsState } from './metrics.js';
import type { RetryEpisode } from './retry.js';

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
  /** Failed rollback attempts so far in this episode (drives the backoff). */
  attempts?: number;
  /** Not before this time (ISO) does the next run retry the failed rollback. */
  nextRetryAt?: string;
  /** The failed rollback was notified: once per episode (§5.1). */
  notified?: boolean;
  /**
   * Set when the swap failed through a fault of the machine (§5.1: the PM2 daemon died, a
   * full disk): its rollback, finished or retried by a later run, quarantines nothing.
   */
  hostFault?: string;
  /** The venvs each side of the swap runs with (§5.4), so a recovery uses the same. */
  venvs?: { from?: Record<string, string>; to?: Record<string, string> };
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

/** A state file that could not be used was set aside (kept as `copy`) and rebuilt. */
export interface StateSetAside {
  at: string;
  copy: string;
  detail: string;
  /** Quarantined commits recovered from the history. */
  recoveredQuarantine: number;
}

/** A journal that could not be acted on, set aside without stopping anything. */
export interface BadJournal {
  at: string;
  why: string;
  journal: unknown;
}

export interface UpdateState {
  journal?: Journal;
  quarantine: QuarantineEntry[];
  lastRun?: LastRun;
  /** Start of the current unbroken run of deferrals, and whether it was notified. */
  deferral?: { since: string; notified: boolean };
  stateSetAside?: StateSetAside;
  badJournal?: BadJournal;
  /** The prepared venvs in use per kind, and the ones before them (§5.4). */
  venvs?: { current?: Record<string, string>; previous?: Record<string, string> };
  /** Counters and last-known values of the Prometheus metrics (§12); absent in older files. */
  metrics?: MetricsState;
  /** A release held back by RESTART_POLICY=coalesce (DESIGN.md §14), while it waits. */
  restartWait?: RestartWait;
  /** The last target refused for its signature that the webhook was told about (told once per commit). */
  unsignedNotified?: string;
  /** The last target refused by the history policy that the webhook was told about (once per commit). */
  notForwardNotified?: string;
  /**
   * Set by an update run that stopped because its config did not parse or validate
   * (DESIGN.md §5 step 1: under cron its stderr goes nowhere); removed by the next run
   * that reads the config. `status` shows it.
   */
  configError?: ConfigErrorRecord;
  /** A restore of the namespace (§5.5) that failed and is retried by the next runs. */
  restore?: RetryEpisode;
  /**
   * Swaps of a release that failed through a fault of the machine (the PM2 daemon died,
   * a full disk, the run killed): not quarantined, tried again up to three times (§5.1).
   */
  hostFaults?: { sha: string; count: number; last: string };
}

export interface ConfigErrorRecord {
  at: string;
  file: string;
  /** The error as the run reported it (the form earlier versions of the updater wrote). */
  message?: string;
  /** Or every problem, one sentence each. */
  problems?: string[];
  /** Unknown or repeated keys found on the way (not fatal on their own). */
  warnings?: string[];
}

/** The problems of a recorded config error, one line each, whichever form it was written in. */
export function configErrorLines(record: ConfigErrorRecord): string[] {
  if (record.problems?.length) return record.problems;
  return (record.message ?? '')
    .split('\n')
    .map((l) => l.trim().replace(/^- /, ''))
    .filter((l) => l !== '' && !/^(Invalid auto-update config|Cannot read) .*:$/.test(l));
}

const MAX_STATE_BYTES = 4 * 1024 * 1024;

/** Reads the state for display (status): never writes, an unusable file reads as empty. */
export function readState(file: string, now: Date): UpdateState {
  return readStateChecked(file, undefined, now).state;
}

function isState(value: unknown): value is Partial<UpdateState> {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Reads the state file without following a symlink. One that is truncated, garbage,
 * not an object, or not a regular file is set aside (a copy kept beside it) and
 * rebuilt: the quarantine is recovered from the history, so that a rolled-back release
 * is not tried again. `setAside` says what happened, for the log, status and webhook.
 * `readOnly` (a dry run): the copy is not written; the state is rebuilt in memory only.
 */
export function readStateChecked(file: string, historyFile: string | undefined, now: Date, options: { readOnly?: boolean } = {}): { state: UpdateState; setAside?: StateSetAside } {
  let detail: string;
  let raw: string | undefined;
  try {
    const read = readRegular(file, MAX_STATE_BYTES + 1);
    if (read === undefined) return { state: { quarantine: [] } };
    raw = read.text;
    if (raw.length > MAX_STATE_BYTES) detail = 'larger than 4 MiB';
    else {
      const parsed: unknown = JSON.parse(raw);
      if (isState(parsed)) {
        return { state: { ...parsed, quarantine: Array.isArray(parsed.quarantine) ? parsed.quarantine.filter(isQuarantineEntry) : [] } };
      }
      detail = 'not a JSON object';
    }
  } catch (error) {
    if (error instanceof NotRegularFile) detail = `it is a ${error.kind}`;
    else if (error instanceof SyntaxError) detail = `not valid JSON (${error.message})`;
    else detail = `unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  const copy = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '')}`;
  try {
    if (raw !== undefined && !options.readOnly) writeAtomic(copy, raw, { mode: 0o600, dirMode: 0o700, durable: true });
  } catch {
    // a full disk: the copy is lost, the message below still says what happened
  }
  const quarantine = historyFile ? quarantineFromHistory(historyFile, now) : [];
  const setAside: StateSetAside = { at: now.toISOString(), copy, detail, recoveredQuarantine: quarantine.length };
  return { state: { quarantine, stateSetAside: setAside }, setAside };
}

function isQuarantineEntry(q: unknown): q is QuarantineEntry {
  return isState(q) && typeof (q as QuarantineEntry).sha === 'string';
}

/**
 * Why a swap can fail through the machine rather than the release (DESIGN.md §5.1): a
 * rollback for one of these quarantined nothing. `interrupted`: a signal cut it short.
 */
export const HOST_FAULT_REASONS = ['pm2-daemon-died', 'disk-full', 'pm2-silent', 'api-port-taken', 'run-killed', 'pm2-processes-gone', 'process-stopped'] as const;
export type HostFaultReason = (typeof HOST_FAULT_REASONS)[number];
const NOT_QUARANTINED: readonly string[] = ['interrupted', ...HOST_FAULT_REASONS];

/** Commits the history says were rolled back (and never deployed since): quarantined. */
export function quarantineFromHistory(historyFile: string, now: Date): QuarantineEntry[] {
  const out = new Map<string, QuarantineEntry>();
  for (const h of readHistory(historyFile, 500)) {
    const to = typeof h.to === 'string' ? h.to : undefined;
    if (!to) continue;
    if (h.outcome === 'rolled-back' || (h.outcome === 'failed' && h.reason === 'rollback-failed')) {
      // A rollback for a machine's fault (not the release's) quarantined nothing.
      if (!NOT_QUARANTINED.includes(String(h.reason))) out.set(to, { sha: to, at: typeof h.at === 'string' ? h.at : now.toISOString(), reason: 'recovered from the history' });
    } else if (h.outcome === 'updated') out.delete(to);
  }
  return [...out.values()];
}

/**
 * Writes the state atomically, never through a symlink. Throws (ENOSPC...) for the caller to word.
 * `durable: false` (a run that changed nothing: no journal, nothing stopped or reset) skips
 * the fsync, which was a few ms of every timer run: after a crash the rename
 * leaves the new file or the previous one (a valid state of the same clone), or on a
 * filesystem without ext4's rename ordering at worst an empty one, which the next run
 * sets aside and rebuilds (quarantine from the history). Journal writes stay durable.
 */
export async function writeState(file: string, state: UpdateState, options: { durable?: boolean } = {}): Promise<void> {
  writeAtomic(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, dirMode: 0o700, durable: options.durable !== false || state.journal !== undefined });
}

/** One JSON line per run that changed something (never through a symlink). */
export function appendHistory(file: string, record: Record<string, unknown>): void {
  appendOwned(file, `${JSON.stringify(record)}\n`, 0o600);
}

export function readHistory(file: string, limit = 50): Record<string, unknown>[] {
  let text: string;
  try {
    const read = readRegular(file, 16 * 1024 * 1024);
    if (read === undefined) return [];
    text = read.text;
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

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Why a journal cannot be acted on (pure shape check), or undefined when it can. */
export function journalProblem(journal: unknown): string | undefined {
  if (!isState(journal)) return 'it is not an object';
  const j = journal as Record<string, unknown>;
  if (typeof j.from !== 'string' || !SHA.test(j.from)) return `"from" is not a commit id (${JSON.stringify(j.from)?.slice(0, 60)})`;
  if (typeof j.to !== 'string' || !SHA.test(j.to)) return `"to" is not a commit id (${JSON.stringify(j.to)?.slice(0, 60)})`;
  if (typeof j.phase !== 'string') return '"phase" is missing';
  return undefined;
}

/** A state write that failed, in words that name the fix. */
export function stateWriteProblem(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const dir = path.dirname(file);
  if (code === 'ENOSPC' || code === 'EDQUOT') return `cannot write the state file ${file}: no space left on the filesystem of ${dir}; free some space there`;
  if (code === 'EROFS') return `cannot write the state file ${file}: the filesystem of ${dir} is read-only`;
  if (code === 'EACCES' || code === 'EPERM') return `cannot write the state file ${file}: permission denied; ${dir} must belong to this user`;
  return `cannot write the state file ${file}: ${(error as Error).message}`;
}

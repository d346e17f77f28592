import { retryDue, type RetryEpisode } from '../../core/retry.js';
import type { Note } from './decide.js';

/**
 * What §5.5 looks at before a run looks for a release: the namespace as PM2's daemon
 * lists it, and its processes that no live daemon supervises.
 */
export interface ConvergeFacts {
  /** 'gone': no PM2 daemon runs for the home (a finding, not an error). */
  daemon: 'alive' | 'gone';
  /** The namespace's processes as the daemon lists them (empty when it is gone). */
  processes: { name: string; status: string; pmId: number; pid: number }[];
  /** The names the namespace runs: the Validation API (unless disabled) and the validator. */
  expected: { api?: string; validator: string };
  /** Processes of the namespace left by a dead daemon (still running, unsupervised). */
  orphans: { pid: number; name: string }[];
  /** A restore that failed before and is being retried. */
  retry?: RetryEpisode;
  force: boolean;
  nowMs: number;
}

export type ConvergePlan =
  /** Nothing to start. `orphans` are ended all the same; `stopped` are the operator's choice. */
  | { kind: 'ok'; orphans: number[]; stopped: string[]; notes: Note[] }
  /** Start what is missing (API first, then the validator), after ending the orphans. */
  | { kind: 'restore'; start: { api: boolean; validator: boolean }; orphans: number[]; stopped: string[]; why: string; reason: RestoreReason; notes: Note[] }
  /** The namespace is down and its restore failed before: the retry is not due yet. */
  | { kind: 'wait'; why: string; notes: Note[] };

/** Why a restore runs (the outcome's reason). */
export type RestoreReason = 'pm2-daemon-gone' | 'process-errored' | 'process-missing';

/** PM2 statuses that need no action: running, starting, or between two tries of a crash loop. */
const RUNNING = new Set(['online', 'launching', 'waiting restart', 'one-launch-status', 'stopping']);

/** Facts in, plan out; no I/O. */
export function planConverge(f: ConvergeFacts): ConvergePlan {
  const notes: Note[] = [];
  const orphans = f.orphans.map((o) => o.pid);
  if (f.orphans.length > 0) {
    const list = f.orphans.map((o) => `${o.name} (pid ${o.pid})`).join(', ');
    notes.push({ level: 'warn', text: `processes of the namespace run without a PM2 daemon supervising them (left by a daemon that died): ${list}; ending them` });
  }
  const stopped: string[] = [];
  const missing: string[] = [];
  let errored = false;
  const start = { api: false, validator: false };
  for (const [kind, name] of [['api', f.expected.api], ['validator', f.expected.validator]] as const) {
    if (name === undefined) continue;
    const proc = f.daemon === 'alive' ? f.processes.find((p) => p.name === name) : undefined;
    if (proc?.status === 'stopped') {
      // `pm2 stop` is the operator's choice: never undone by a timer.
      stopped.push(name);
      continue;
    }
    if (proc && RUNNING.has(proc.status)) continue;
    start[kind] = true;
    if (proc?.status === 'errored') errored = true;
    missing.push(proc ? `${name} is ${proc.status}` : `${name} is missing`);
  }
  // The validator refuses to start without an API that answers: one started while the API
  // is between two tries of a crash loop exits with it. The API is started again first.
  const api = f.expected.api === undefined || f.daemon !== 'alive' ? undefined : f.processes.find((p) => p.name === f.expected.api);
  if (start.validator && !start.api && api && api.status !== 'online' && api.status !== 'stopped') {
    start.api = true;
    missing.push(`${api.name} is ${api.status}`);
  }
  if (stopped.length > 0) notes.push({ level: 'info', text: `${stopped.join(', ')} stopped by the operator (pm2 stop): left stopped` });
  if (!start.api && !start.validator) return { kind: 'ok', orphans, stopped, notes };
  const why = f.daemon === 'gone' ? `no PM2 daemon runs (${missing.join(', ')})` : missing.join(', ');
  if (!retryDue(f.retry, f.nowMs, f.force)) {
    const r = f.retry!;
    notes.push({ level: 'error', text: `the namespace is down (${why}); restoring it failed ${r.attempts} time(s), last: ${r.detail ?? 'see the log'}; next retry at ${r.nextRetryAt}` });
    return { kind: 'wait', why, notes };
  }
  const reason: RestoreReason = f.daemon === 'gone' ? 'pm2-daemon-gone' : errored ? 'process-errored' : 'process-missing';
  return { kind: 'restore', start, orphans, stopped, why, reason, notes };
}

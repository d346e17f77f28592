import os from 'node:os';
import { formatDuration } from '../../core/duration.js';
import type { UpdateLog } from '../../core/log.js';
import { appendHistory } from '../../core/state.js';
import type { StateWriteError } from '../../core/state-store.js';
import { observeRun, publishMetrics } from '../../domain/metrics-publish.js';
import { recordRestartWait } from './restart-budget.js';
import type { RestartDecision } from './outcome.js';
import type { LiveRun } from './run.js';

const NOTIFY_OUTCOMES = new Set(['updated', 'rolled-back', 'failed', 'restored']);
const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

export interface PendingNotice {
  outcome: string;
  reason?: string;
  summary: string;
}

/**
 * After every run but `locked` (the "record" stage): the last run in the state file,
 * the deferral watch, the history line of a run that changed something, and the
 * notifications (`extra`: notices the run collected, e.g. a state file set aside).
 * Only a LiveRun records: a dry run never gets this far. Returns the error when the
 * state could not be written (exit 1).
 */
export async function recordRun(
  run: LiveRun,
  input: {
    decision: RestartDecision;
    from: string | undefined;
    to: string | undefined;
    at: string;
    extra?: PendingNotice[];
  },
): Promise<StateWriteError | undefined> {
  const { ctx, log, config, state } = run;
  const { decision, from, to, at } = input;
  const notifications: PendingNotice[] = [...(input.extra ?? [])];
  const previous = state.lastRun;
  state.lastRun = { at, outcome: decision.outcome, ...(decision.reason ? { reason: decision.reason } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}) };
  // The config parsed: an earlier parse error is over.
  delete state.configError;

  // A release held by the restart budget waits on purpose, bounded by RESTART_MAX_DELAY: not a stuck deferral.
  const budgetNotice = recordRestartWait(state, decision, from, to);
  if (budgetNotice) notifications.push(budgetNotice);
  if (decision.outcome === 'deferred' && decision.reason !== 'restart-budget') {
    state.deferral ??= { since: at, notified: false };
    const deferredMs = ctx.now().getTime() - Date.parse(state.deferral.since);
    if (deferredMs > config.maxDeferralMs) {
      log.warn(`updates have been deferred for ${formatDuration(deferredMs)} (since ${state.deferral.since}, longer than MAX_DEFERRAL=${formatDuration(config.maxDeferralMs)}): ${short(to)} is waiting; last reason ${decision.reason}`);
      if (!state.deferral.notified) {
        state.deferral.notified = true;
        notifications.push({ outcome: 'deferred-long', reason: decision.reason, summary: `updates deferred for ${formatDuration(deferredMs)} (${decision.reason}); ${short(to)} is waiting` });
      }
    }
  } else if (decision.outcome !== 'locked') {
    delete state.deferral;
  }
  // A refused signature repeats every run until the branch moves: tell the webhook once per commit.
  if (decision.outcome === 'refused' && decision.reason === 'unsigned' && decision.notify !== false && to && state.unsignedNotified !== to) {
    notifications.push({ outcome: 'refused', reason: 'unsigned', summary: `refused to deploy ${short(to)}: ${decision.detail ?? 'it fails the signature policy'}` });
    state.unsignedNotified = to;
  }
  if (decision.outcome === 'refused' && decision.reason === 'not-forward' && decision.notify !== false && to && state.notForwardNotified !== to) {
    notifications.push({ outcome: 'refused', reason: 'not-forward', summary: `refused to deploy ${short(to)}: ${decision.detail ?? 'it does not descend from the deployed commit'}` });
    state.notForwardNotified = to;
  }
  observeRun(ctx, config, state, { at, outcome: decision.outcome, reason: decision.reason, from, to, downtimeMs: decision.downtimeMs });
  // Nothing stopped or moved (a no-op, a deferral): no fsync (see writeState).
  const problem = await run.store.trySave({ durable: Boolean(decision.changed) });
  if (problem) log.error(problem.message);
  const metricsProblem = publishMetrics(config.metricsDir, config.namespace, state, config.file);
  if (metricsProblem) log.warn(metricsProblem);

  if (decision.changed) {
    const record = {
      at,
      from: from ?? null,
      to: to ?? null,
      outcome: decision.outcome,
      reason: decision.reason ?? null,
      phasesMs: decision.timings?.phases ?? {},
      downtimeMs: decision.downtimeMs ?? null,
    };
    try {
      appendHistory(ctx.paths.history(config.namespace), record);
    } catch (error) {
      log.error(`cannot append to the history ${ctx.paths.history(config.namespace)}: ${(error as Error).message}; the run was: ${JSON.stringify(record)}`);
    }
  }
  // A failure that repeats every run (a fetch while the network is down, a rollback
  // retried with backoff) is notified once per episode, not every two minutes.
  const repeatedFailure = decision.outcome === 'failed' && (decision.quiet || (!decision.changed && previous?.outcome === 'failed' && previous.reason === decision.reason));
  if (NOTIFY_OUTCOMES.has(decision.outcome) && !repeatedFailure) {
    const tail = decision.quarantined ? `, ${short(to)} quarantined` : '';
    const text: Record<string, string> = {
      updated: `updated ${short(from)} -> ${short(to)}${decision.downtimeMs !== undefined ? ` (validator down ${formatDuration(decision.downtimeMs)})` : ''}`,
      'rolled-back': `update to ${short(to)} failed (${decision.reason}${decision.detail ? `: ${decision.detail}` : ''}); rolled back to ${short(from)}${tail}`,
      failed: `update ${short(from)} -> ${short(to)} failed (${decision.reason})${decision.reason === 'rollback-failed' || decision.reason === 'restore' ? ': THE VALIDATOR MAY BE DOWN' : ''}${decision.detail ? `; ${decision.detail}` : ''}`,
      restored: `the namespace was down (${decision.detail ?? decision.reason}); restored at ${short(from)}`,
    };
    notifications.push({ outcome: decision.outcome, reason: decision.reason, summary: text[decision.outcome]! });
  }
  if (config.notifyWebhookUrl && notifications.length > 0) await notify(config.notifyWebhookUrl, config.namespace, log, notifications, from, to);
  return problem;
}

/** Posts each notice; a failing hook is a warning, never a failure. */
export async function notify(url: string, namespace: string, log: UpdateLog, notices: PendingNotice[], from?: string, to?: string): Promise<void> {
  const { sendNotification } = await import('../../adapters/notify.js');
  for (const n of notices) {
    const problem = await sendNotification(url, { namespace, host: os.hostname(), from, to, ...n });
    if (problem) log.warn(problem);
  }
}

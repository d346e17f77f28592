import os from 'node:os';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { formatDuration } from '../../core/duration.js';
import type { UpdateLog } from '../../core/log.js';
import { appendHistory, writeState, type UpdateState } from '../../core/state.js';
import { observeRun, publishMetrics } from '../metrics/publish.js';
import type { RestartDecision } from './restart.js';

const NOTIFY_OUTCOMES = new Set(['updated', 'rolled-back', 'failed']);
const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/**
 * After every run but `locked`: the last run in the state file, the deferral watch,
 * the history line of a run that changed something, and the notifications.
 */
export async function recordRun(input: {
  ctx: Context;
  log: UpdateLog;
  config: AutoupdateConfig;
  state: UpdateState;
  decision: RestartDecision;
  from: string | undefined;
  to: string | undefined;
  at: string;
}): Promise<void> {
  const { ctx, log, config, state, decision, from, to, at } = input;
  const notifications: { summary: string; outcome: string; reason?: string }[] = [];
  const previous = state.lastRun;
  state.lastRun = { at, outcome: decision.outcome, ...(decision.reason ? { reason: decision.reason } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}) };

  if (decision.outcome === 'deferred') {
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
  observeRun(ctx, config, state, { at, outcome: decision.outcome, reason: decision.reason, from, to, downtimeMs: decision.downtimeMs });
  await writeState(ctx.paths.state(config.namespace), state);
  const metricsProblem = publishMetrics(config.metricsDir, config.namespace, state, config.file);
  if (metricsProblem) log.warn(metricsProblem);

  if (decision.changed) {
    appendHistory(ctx.paths.history(config.namespace), {
      at,
      from: from ?? null,
      to: to ?? null,
      outcome: decision.outcome,
      reason: decision.reason ?? null,
      phasesMs: decision.timings?.phases ?? {},
      downtimeMs: decision.downtimeMs ?? null,
    });
  }
  // A failure that repeats every run (a fetch while the network is down) is notified
  // once per episode, not every two minutes.
  const repeatedFailure = decision.outcome === 'failed' && !decision.changed && previous?.outcome === 'failed' && previous.reason === decision.reason;
  if (NOTIFY_OUTCOMES.has(decision.outcome) && !repeatedFailure) {
    const text: Record<string, string> = {
      updated: `updated ${short(from)} -> ${short(to)}${decision.downtimeMs !== undefined ? ` (validator down ${formatDuration(decision.downtimeMs)})` : ''}`,
      'rolled-back': `update to ${short(to)} failed (${decision.reason}); rolled back to ${short(from)}, ${short(to)} quarantined`,
      failed: `update ${short(from)} -> ${short(to)} failed (${decision.reason})${decision.reason === 'rollback-failed' ? ': THE VALIDATOR MAY BE DOWN' : ''}`,
    };
    notifications.push({ outcome: decision.outcome, reason: decision.reason, summary: text[decision.outcome]! });
  }
  if (config.notifyWebhookUrl && notifications.length > 0) {
    const { sendNotification } = await import('../../adapters/notify.js');
    for (const n of notifications) {
      const problem = await sendNotification(config.notifyWebhookUrl, { namespace: config.namespace, host: os.hostname(), from, to, ...n });
      if (problem) log.warn(problem);
    }
  }
}

import type { RestartSettings, RestartWait } from '../../core/restart-config.js';
import { formatDuration } from '../../core/duration.js';
import type { Decision } from '../../domain/outcome.js';
import type { WeightsView } from '../../domain/warmup.js';

/**
 * The restart budget under RESTART_POLICY=coalesce (DESIGN.md §14): every restart costs
 * the validator its weights warm-up (about ten epochs without real weights), so a warm
 * validator restarted recently keeps running and releases wait, within bounds.
 * Pure: the facts below in, a deferral (or nothing) out.
 */
export interface RestartFacts {
  /** --to named the target: the operator chose this release now. */
  explicit: boolean;
  weights: WeightsView;
  /** `__version__` of subnet/__init__.py at HEAD and at the target (undefined: not found). */
  versionHead?: string;
  versionTarget?: string;
  /** The wait recorded in the state (RestartWait), when there is one. */
  waiting?: RestartWait;
}

const short = (sha: string) => sha.slice(0, 7);
/** An age to the minute (to the second under a minute). */
const ago = (ms: number) => formatDuration(ms >= 60_000 ? Math.floor(ms / 60_000) * 60_000 : Math.max(0, Math.floor(ms / 1000)) * 1000);

export interface BudgetVerdict {
  /** Set when the release waits. */
  decision?: Decision & { until: string; since: string };
  /** Why it goes (or waits), one line for the log. */
  note: string;
}

/** Under `coalesce`: does the release from `head` to `target` wait? */
export function judgeRestartBudget(facts: RestartFacts, settings: RestartSettings, head: string, target: string, nowMs: number): BudgetVerdict {
  const w = facts.weights;
  const release = short(target);
  if (facts.explicit) return { note: `restart budget: --to chose ${release}; not held back` };
  if (facts.versionHead !== facts.versionTarget) {
    return { note: `restart budget: ${release} changes __version__ ${facts.versionHead ?? '(none)'} -> ${facts.versionTarget ?? '(none)'} (the version_key of set_weights); not held back` };
  }
  if (w.state === 'unknown') return { note: `restart budget: cannot tell the weights warm-up (${w.why ?? 'no log'}); deploying ${release} as prompt would` };
  if (w.state === 'warming-up') {
    const tasks = w.tasksDone !== undefined && w.tasksNeeded !== undefined ? ` (${w.tasksDone}/${w.tasksNeeded} tasks)` : '';
    return { note: `restart budget: the validator is still warming up${tasks}, so a restart now loses only that; deploying ${release}` };
  }
  const startMs = w.startedAt ? Date.parse(w.startedAt) : Number.NaN;
  if (!Number.isFinite(startMs)) return { note: `restart budget: the validator sets weights but its last start is unknown; deploying ${release} as prompt would` };
  const upMs = nowMs - startMs;
  if (upMs >= settings.minIntervalMs) {
    return { note: `restart budget: the validator's last restart was ${ago(upMs)} ago (RESTART_MIN_INTERVAL=${formatDuration(settings.minIntervalMs)}); deploying ${release}` };
  }
  const sinceIso = facts.waiting && facts.waiting.head === head && Number.isFinite(Date.parse(facts.waiting.since)) ? facts.waiting.since : new Date(nowMs).toISOString();
  const waitedMs = nowMs - Date.parse(sinceIso);
  if (waitedMs >= settings.maxDelayMs) {
    return { note: `restart budget: releases have waited ${ago(waitedMs)} (RESTART_MAX_DELAY=${formatDuration(settings.maxDelayMs)}); deploying ${release}` };
  }
  const untilMs = Math.min(startMs + settings.minIntervalMs, Date.parse(sinceIso) + settings.maxDelayMs);
  const until = new Date(untilMs).toISOString();
  const epoch = w.lastEmitEpoch !== undefined ? ` (last for epoch ${w.lastEmitEpoch})` : '';
  const detail =
    `${release} waits until ${until.replace(/\.\d{3}Z$/, 'Z')}: the validator sets weights${epoch} and restarted ${ago(upMs)} ago, ` +
    `less than RESTART_MIN_INTERVAL=${formatDuration(settings.minIntervalMs)}; a restart now costs its warm-up of ${w.tasksNeeded ?? '?'} tasks. ` +
    `It goes earlier if a release changes __version__, or now with update --force or --to ${release}`;
  return { decision: { outcome: 'deferred', reason: 'restart-budget', detail, until, since: sinceIso }, note: `update ${short(head)} -> ${release} deferred (restart-budget): ${detail}` };
}

/**
 * The record stage's part: keeps `state.restartWait` while a release waits (its first
 * time, for RESTART_MAX_DELAY, and what status shows) and returns the notice to send,
 * once per release. A run that finds HEAD moved or the clone up to date ends the wait.
 */
export function recordRestartWait(
  state: { restartWait?: RestartWait },
  decision: Decision & { until?: string; since?: string },
  from: string | undefined,
  to: string | undefined,
): { outcome: string; reason: string; summary: string } | undefined {
  const wait = state.restartWait;
  if (decision.outcome === 'deferred' && decision.reason === 'restart-budget' && from && to && decision.until && decision.since) {
    const notified = wait && wait.head === from ? wait.notified : undefined;
    state.restartWait = { head: from, since: decision.since, sha: to, until: decision.until, detail: decision.detail ?? '', ...(notified ? { notified } : {}) };
    if (notified === to) return undefined;
    state.restartWait.notified = to;
    return { outcome: 'deferred', reason: 'restart-budget', summary: `release ${short(to)} held back by RESTART_POLICY=coalesce: ${decision.detail ?? ''}` };
  }
  // Another deferral (a round) keeps the wait; a move of HEAD or nothing to deploy ends it.
  if (wait && (decision.outcome === 'updated' || decision.outcome === 'up-to-date' || (from !== undefined && from !== wait.head))) delete state.restartWait;
  return undefined;
}

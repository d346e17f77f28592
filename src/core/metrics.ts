/**
 * Prometheus metrics of the updater (DESIGN.md §12): what the state file keeps between
 * runs, how one run changes it, and the text exposition format. Pure: the update run
 * and `alphacore metrics` feed it; tests check the exact text.
 */

/** What the state file keeps for the metrics; counters survive restarts. */
export interface MetricsState {
  /** Runs per outcome. */
  runs: Record<string, number>;
  /** Deferred runs per reason. */
  deferrals: Record<string, number>;
  rollbacks: number;
  /** Restores of a namespace PM2 lost (§5.5); absent in older files. */
  restores?: number;
  /** ISO time of the last run per outcome. */
  lastRunAt: Record<string, string>;
  /** The last run's time: the clock the rendered gauges are read at. */
  at?: string;
  /** The commit HEAD was at after the last run that knew it. */
  deployed?: string;
  /** The last target seen (REMOTE/BRANCH, --to or PIN). */
  target?: string;
  /** First run that saw the target differ from what was deployed (cleared when equal). */
  behindSince?: string;
  /** Last run that saw the target equal to what was deployed. */
  currentAt?: string;
  /** First run of a streak that could not tell (no fetch yet ever succeeded). */
  unknownSince?: string;
  /** Whether the last run's target was known (fetched) and compared. */
  known?: boolean;
  /** The last run's reason, to count a failing rollback once per episode. */
  lastReason?: string;
  /** Downtime of the last update or rollback (ms). */
  downtimeMs?: number;
  /** 1 when PM2's pid file names a live process, per expected process name. */
  pm2Up?: Record<string, number>;
  /** The validator's weights warm-up as its log showed it at the last run (DESIGN.md §14). */
  weights?: WeightsMetrics;
}

export interface WeightsMetrics {
  /** The last emission the log dated (kept when it leaves the part of the log read). */
  lastEmitAt?: string;
  tasksDone?: number;
  tasksNeeded?: number;
}

/** Folds what the log shows now into the kept values: an emission once seen is not forgotten. */
export function foldWeights(previous: WeightsMetrics | undefined, now: WeightsMetrics): WeightsMetrics {
  const times = [previous?.lastEmitAt, now.lastEmitAt].filter((t): t is string => t !== undefined && Number.isFinite(Date.parse(t)));
  const last = times.sort((a, b) => Date.parse(a) - Date.parse(b)).at(-1);
  return {
    ...(last ? { lastEmitAt: last } : {}),
    ...(now.tasksDone !== undefined ? { tasksDone: now.tasksDone } : {}),
    ...(now.tasksNeeded !== undefined ? { tasksNeeded: now.tasksNeeded } : {}),
  };
}

/** Outcomes and deferral reasons always exported (0 until seen), so rate() and increase() see the first one. */
export const KNOWN_OUTCOMES = ['up-to-date', 'deferred', 'skipped', 'updated', 'rolled-back', 'restored', 'failed', 'refused', 'would-update', 'invalid-config'] as const;
export const KNOWN_DEFERRALS = ['round-active', 'api-busy', 'api-unknown'] as const;

export function emptyMetrics(): MetricsState {
  return { runs: {}, deferrals: {}, rollbacks: 0, lastRunAt: {} };
}

/** Tolerates a state file written before metrics existed, or edited by hand. */
export function normalizeMetrics(value: unknown): MetricsState {
  const m = (value && typeof value === 'object' ? value : {}) as Partial<MetricsState>;
  const counts = (o: unknown): Record<string, number> =>
    Object.fromEntries(Object.entries(o && typeof o === 'object' ? o : {}).filter(([, v]) => Number.isFinite(v) && (v as number) >= 0)) as Record<string, number>;
  const times = (o: unknown): Record<string, string> =>
    Object.fromEntries(Object.entries(o && typeof o === 'object' ? o : {}).filter(([, v]) => typeof v === 'string' && !Number.isNaN(Date.parse(v)))) as Record<string, string>;
  return { ...m, runs: counts(m.runs), deferrals: counts(m.deferrals), rollbacks: Number.isFinite(m.rollbacks) ? m.rollbacks! : 0, lastRunAt: times(m.lastRunAt) };
}

/** One finished run, as the metrics see it. */
export interface RunFacts {
  at: string;
  outcome: string;
  reason?: string;
  /** HEAD before the run (when the run read it). */
  from?: string;
  /** The target (when the run fetched it, or the journal named it). */
  to?: string;
  downtimeMs?: number;
  pm2Up?: Record<string, number>;
}

/** What was deployed after the run: undefined when the run could not tell (keep the last known). */
function deployedAfter(run: RunFacts): string | null | undefined {
  if (run.outcome === 'updated') return run.to;
  // A failed rollback leaves the clone wherever it stopped: nobody knows.
  if (run.reason === 'rollback-failed') return null;
  return run.from;
}

/** The restores counter; 0 in a file written before it existed (or edited by hand). */
function restoresOf(m: MetricsState): number {
  return Number.isFinite(m.restores) && m.restores! >= 0 ? m.restores! : 0;
}

/** The outcome of the last run folded in: the one whose lastRunAt is the last run's time. */
export function lastOutcome(m: MetricsState | undefined): string | undefined {
  if (!m?.at || !m.lastRunAt) return undefined;
  return Object.keys(m.lastRunAt).find((outcome) => m.lastRunAt[outcome] === m.at);
}

/** Folds one run into the kept metrics (returns a new value). */
export function countRun(previous: MetricsState | undefined, run: RunFacts): MetricsState {
  const m = normalizeMetrics(previous);
  const next: MetricsState = { ...m, runs: { ...m.runs }, deferrals: { ...m.deferrals }, lastRunAt: { ...m.lastRunAt } };
  next.at = run.at;
  next.runs[run.outcome] = (next.runs[run.outcome] ?? 0) + 1;
  next.lastRunAt[run.outcome] = run.at;
  if (run.outcome === 'deferred') {
    const reason = run.reason ?? 'unknown';
    next.deferrals[reason] = (next.deferrals[reason] ?? 0) + 1;
  }
  // A rollback that failed is retried with backoff: the episode counts once, when it
  // starts (its later success, rollback-retried, is the same rollback).
  const rollbackStarted =
    (run.outcome === 'rolled-back' && run.reason !== 'rollback-retried') || (run.reason === 'rollback-failed' && m.lastReason !== 'rollback-failed');
  if (rollbackStarted) next.rollbacks += 1;
  if (run.outcome === 'restored') next.restores = restoresOf(next) + 1;
  next.lastReason = run.reason;
  if (run.downtimeMs !== undefined) next.downtimeMs = run.downtimeMs;
  if (run.pm2Up) next.pm2Up = run.pm2Up;

  const deployed = deployedAfter(run);
  if (deployed === null) delete next.deployed;
  else if (deployed !== undefined) next.deployed = deployed;
  if (run.to) next.target = run.to;

  const known = Boolean(run.to && deployed);
  next.known = known;
  if (known) {
    delete next.unknownSince;
    if (run.to === deployed) {
      delete next.behindSince;
      next.currentAt = run.at;
    } else {
      next.behindSince ??= run.at;
    }
  } else if (!next.behindSince && !next.currentAt) {
    next.unknownSince ??= run.at;
  }
  return next;
}

/**
 * Seconds the deployed commit has been behind the target, at the last run. When the
 * last run could not tell (a failed fetch), it is the time since the last run that
 * knew the machine was current, so that a fetch failing for a month reads a month.
 */
export function behindSeconds(m: MetricsState): number {
  if (!m.at) return 0;
  const since = m.known ? m.behindSince : (m.behindSince ?? m.currentAt ?? m.unknownSince);
  if (!since) return 0;
  return Math.max(0, (Date.parse(m.at) - Date.parse(since)) / 1000);
}

/** A label value in the text exposition format: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escaping: backslash and newline. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  // Whole numbers as integers; fractions to the millisecond, without float noise.
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}

type Labels = Record<string, string>;

class Exposition {
  private readonly out: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string, samples: [Labels, number][]): void {
    this.out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const body = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      this.out.push(`${name}{${body}} ${formatValue(value)}`);
    }
  }
  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

const sortedKeys = (o: Record<string, unknown>, known: readonly string[]) => [...new Set([...known, ...Object.keys(o)])].sort();

/** The text of `alphacore_<ns>.prom`: every family with HELP and TYPE, samples in a stable order. */
export function renderMetrics(namespace: string, m: MetricsState, quarantined: number): string {
  const ns = { namespace };
  const e = new Exposition();
  e.family('alphacore_deployed_info', 'gauge', 'The commit the deploy clone is at (1); absent when a failed rollback left it unknown.', m.deployed ? [[{ ...ns, commit: m.deployed }, 1]] : []);
  e.family('alphacore_target_info', 'gauge', 'The commit the updater wants to deploy: REMOTE/BRANCH, --to or PIN (1).', m.target ? [[{ ...ns, commit: m.target }, 1]] : []);
  e.family('alphacore_behind_seconds', 'gauge', 'Seconds since the first run that saw the target differ from the deployed commit; 0 when equal; while fetches fail, the time since the last run that knew it was current.', [[ns, behindSeconds(m)]]);
  e.family(
    'alphacore_last_run_timestamp_seconds',
    'gauge',
    'Unix time of the last update run, per outcome.',
    Object.keys(m.lastRunAt)
      .sort()
      .map((outcome) => [{ ...ns, outcome }, Date.parse(m.lastRunAt[outcome]!) / 1000]),
  );
  e.family('alphacore_runs_total', 'counter', 'Update runs, per outcome.', sortedKeys(m.runs, KNOWN_OUTCOMES).map((outcome) => [{ ...ns, outcome }, m.runs[outcome] ?? 0]));
  e.family('alphacore_deferrals_total', 'counter', 'Deferred update runs, per reason.', sortedKeys(m.deferrals, KNOWN_DEFERRALS).map((reason) => [{ ...ns, reason }, m.deferrals[reason] ?? 0]));
  e.family('alphacore_rollbacks_total', 'counter', 'Rollbacks started (a failing rollback retried later counts once).', [[ns, m.rollbacks]]);
  e.family('alphacore_restores_total', 'counter', 'Restores of a namespace PM2 had lost (daemon gone, a process missing or errored), at the deployed commit.', [[ns, restoresOf(m)]]);
  e.family('alphacore_quarantined_commits', 'gauge', 'Commits that were rolled back and are not tried again until the branch moves.', [[ns, quarantined]]);
  e.family('alphacore_last_update_downtime_seconds', 'gauge', 'Validator downtime of the last update or rollback: first stop to validator healthy.', m.downtimeMs !== undefined ? [[ns, m.downtimeMs / 1000]] : []);
  e.family(
    'alphacore_pm2_process_up',
    'gauge',
    "1 when PM2's pid file for the process names a live process, at the last run.",
    Object.keys(m.pm2Up ?? {})
      .sort()
      .map((name) => [{ ...ns, name }, m.pm2Up![name]!]),
  );
  if (m.weights) {
    const w = m.weights;
    e.family(
      'alphacore_validator_weights_last_emit_timestamp_seconds',
      'gauge',
      "Unix time of the validator's last weights emission, from its PM2 out log ([WEIGHTS] Emitted weights on chain).",
      w.lastEmitAt && Number.isFinite(Date.parse(w.lastEmitAt)) ? [[ns, Date.parse(w.lastEmitAt) / 1000]] : [],
    );
    const tasks: [Labels, number][] = [];
    if (Number.isFinite(w.tasksDone)) tasks.push([{ ...ns, kind: 'done' }, w.tasksDone!]);
    if (Number.isFinite(w.tasksNeeded)) tasks.push([{ ...ns, kind: 'needed' }, w.tasksNeeded!]);
    e.family('alphacore_validator_weights_tasks', 'gauge', 'Tasks the validator completed since its start (done) and needs before it sets weights (needed, WEIGHTS_MIN_TASKS_BEFORE_EMIT).', tasks);
  }
  return e.text();
}

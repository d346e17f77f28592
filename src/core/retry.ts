/**
 * When a failed rollback or restore is tried again (DESIGN.md §5.1, §5.5): the fault is
 * often gone by the next run (the disk freed, a lock released), so the next three runs
 * retry at once; after that, with backoff: 4, 8, 16, then every 30 minutes.
 * `attempts`: the failed attempts of this episode so far.
 */
export function retryDelayMs(attempts: number): number {
  if (attempts <= 3) return 0;
  return Math.min(30, 2 ** (attempts - 2)) * 60_000;
}

/** A failing restore, retried by later runs (kept in the state until one succeeds). */
export interface RetryEpisode {
  /** First failure of the episode (ISO). */
  since: string;
  attempts: number;
  /** Not before this time (ISO) does a run without --force try again. */
  nextRetryAt: string;
  /** The webhook was told: once per episode. */
  notified?: boolean;
  /** The last failure, for status. */
  detail?: string;
}

/** The episode after one more failure at `nowMs`. */
export function failedAgain(previous: RetryEpisode | undefined, nowMs: number, detail: string): RetryEpisode {
  const attempts = (previous?.attempts ?? 0) + 1;
  return {
    since: previous?.since ?? new Date(nowMs).toISOString(),
    attempts,
    nextRetryAt: new Date(nowMs + retryDelayMs(attempts)).toISOString(),
    ...(previous?.notified ? { notified: true } : {}),
    detail,
  };
}

/** Whether a run at `nowMs` may try again (always with --force). */
export function retryDue(episode: RetryEpisode | undefined, nowMs: number, force: boolean): boolean {
  if (!episode || force) return true;
  const due = Date.parse(episode.nextRetryAt);
  return !Number.isFinite(due) || due <= nowMs;
}

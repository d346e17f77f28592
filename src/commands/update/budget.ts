/**
 * The time budget of one update run (DESIGN.md §5: "the whole run, rollback included,
 * ends well inside the systemd unit's TimeoutStartSec", which templates/ sets to 1h).
 *
 *   stage                         cap     made of (each also capped by its stage)
 *   before the stop               24 min  fetch 2 min, preflight ~1 min, prepare 20 min
 *   swap (stop -> healthy)        12 min  pm2 calls 30 s/90 s, reset 30 s, sandbox 8 min,
 *                                         API script 5 min, HEALTH_TIMEOUT + HEALTH_STABLE
 *   rollback (its own budget)     12 min  the same steps for the previous commit
 *   record                         ~1 min state, history, webhooks 5 s each
 *                                 ------
 *                                 49 min  < 60 min TimeoutStartSec
 *
 * Each step's timeout is the smaller of its own cap and what is left of its stage, so a
 * slow step cannot push the rollback past the unit's limit. When the swap's stage runs
 * out the next step fails, which rolls back with the rollback's fresh budget.
 */
export const STAGE_MS = {
  beforeStop: 24 * 60_000,
  prepare: 20 * 60_000,
  swap: 12 * 60_000,
  rollback: 12 * 60_000,
} as const;

export const STEP_MS = {
  sandbox: 8 * 60_000,
  apiScript: 5 * 60_000,
  venvCreate: 2 * 60_000,
  pipInstall: 10 * 60_000,
  sudoCheck: 10_000,
} as const;

/** The unit's TimeoutStartSec (templates/alphacore-autoupdate@.service). */
export const UNIT_TIMEOUT_MS = 60 * 60_000;

export class Budget {
  readonly deadline: number;
  constructor(
    private readonly now: () => number,
    totalMs: number,
    readonly stage: string,
  ) {
    this.deadline = now() + totalMs;
  }
  remaining(): number {
    return this.deadline - this.now();
  }
  expired(): boolean {
    return this.remaining() <= 0;
  }
  /** A step's timeout: its own cap, within what is left (at least 1 s, so it can fail cleanly). */
  cap(stepMs: number): number {
    return Math.max(1000, Math.min(stepMs, this.remaining()));
  }
}

/**
 * The longest one run may hold the overlap lock: its stages plus the record. A lock held
 * longer is not a run of ours (DESIGN.md §5 step 2): it is reported.
 */
export const RUN_BUDGET_MS = STAGE_MS.beforeStop + STAGE_MS.swap + STAGE_MS.rollback + 60_000;

import type { ApiState, RoundLock } from './gates.js';

export type Outcome =
  | 'locked'
  | 'refused'
  | 'failed'
  | 'up-to-date'
  | 'skipped'
  | 'deferred'
  | 'would-update'
  | 'updated'
  | 'rolled-back'
  | 'invalid-config';

export interface Decision {
  outcome: Outcome;
  reason?: string;
  /** One line saying why, for the result line and the notification (e.g. which commit fails its signature). */
  detail?: string;
  /** false: tell no webhook (a dry run's refusal). */
  notify?: boolean;
}

export const EXIT_CODES: Record<Outcome, number> = {
  locked: 0,
  refused: 1,
  failed: 1,
  'up-to-date': 0,
  skipped: 0,
  deferred: 0,
  'would-update': 0,
  updated: 0,
  'rolled-back': 1,
  'invalid-config': 2,
};

/** Steps 5-6: is there anything to do? undefined means go on to the gates. */
export function decideTarget(input: { head: string; target: string; quarantined: boolean; force: boolean }): Decision | undefined {
  if (input.head === input.target) return { outcome: 'up-to-date' };
  if (input.quarantined && !input.force) return { outcome: 'skipped', reason: 'quarantined' };
  return undefined;
}

/** Step 7: may we restart now? undefined means the gates are open. */
export function decideGates(input: { roundLock: RoundLock; api: ApiState | undefined }): Decision | undefined {
  if (input.roundLock.kind === 'live') return { outcome: 'deferred', reason: 'round-active' };
  if (input.api?.kind === 'busy') return { outcome: 'deferred', reason: 'api-busy' };
  if (input.api?.kind === 'unknown') return { outcome: 'deferred', reason: 'api-unknown' };
  return undefined;
}

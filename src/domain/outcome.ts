/** The outcomes of an update run (DESIGN.md §5) and their exit codes. */
export type Outcome =
  | 'locked'
  | 'refused'
  | 'failed'
  | 'up-to-date'
  | 'skipped'
  | 'deferred'
  | 'would-update'
  | 'would-recover'
  | 'updated'
  | 'rolled-back'
  /** §5.5: the namespace was down (PM2 lost it) and was started again at the deployed commit. */
  | 'restored'
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
  'would-recover': 0,
  updated: 0,
  'rolled-back': 1,
  restored: 0,
  'invalid-config': 2,
};

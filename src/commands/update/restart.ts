import type { Context } from '../../core/context.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { UpdateLog } from '../../core/log.js';
import type { UpdateState } from '../../core/state.js';
import type { Decision } from './decide.js';

export interface RestartInput {
  ctx: Context;
  config: AutoupdateConfig;
  log: UpdateLog;
  state: UpdateState;
  from: string;
  to: string;
}

/**
 * Steps 9-14 of the cycle (preflight, journal, stop, reset, setup, start, health) with
 * rollback. Not built yet: an update that passes every gate ends `failed` without
 * touching anything, so the validator keeps running at the commit it has.
 */
export async function restartAt(input: RestartInput): Promise<Decision> {
  input.log.error('restart not implemented yet: nothing was stopped; the validator keeps running at its current commit');
  return { outcome: 'failed', reason: 'restart not implemented yet' };
}

/** Finishes or rolls back a run that was killed mid-update (§5.1). Not built yet. */
export async function recoverInterrupted(input: Omit<RestartInput, 'from' | 'to'>): Promise<Decision | undefined> {
  const journal = input.state.journal;
  if (!journal) return undefined;
  input.log.warn(`an interrupted update ${journal.from.slice(0, 7)} -> ${journal.to.slice(0, 7)} (phase ${journal.phase}) needs recovery, which is not implemented yet`);
  return undefined;
}

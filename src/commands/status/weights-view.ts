import { pm2Home } from '../../adapters/pm2-home.js';
import type { Context } from '../../core/context.js';
import type { RestartWait } from '../../core/restart-config.js';
import type { WeightsView } from '../../domain/warmup.js';
import { observeWarmup, validatorOutLog } from '../../domain/warmup-read.js';
import { roughDuration } from './age.js';

/**
 * The Weights line of status (DESIGN.md §14): the validator's warm-up, read from its PM2
 * out log (PM2's own path for it when PM2 named one, else pm2.config.js's convention).
 */
export function probeWeights(ctx: Context, repoDir: string | undefined, processName: string | undefined, pm2OutLog: string | undefined): WeightsView {
  if (!pm2OutLog && (!repoDir || !processName)) return { state: 'unknown', why: 'the config names no deploy clone or validator process' };
  const log = pm2OutLog ?? validatorOutLog(repoDir!, processName!);
  return observeWarmup({ log, pm2Home: pm2Home(ctx), ...(processName ? { processName } : {}) });
}

/** A release held back by RESTART_POLICY=coalesce, as status shows it. */
export type RestartWaitView = Pick<RestartWait, 'sha' | 'since' | 'until' | 'detail'>;

/** The Weights line's value, in words: what happened and how long ago. */
export function weightsText(w: WeightsView, nowMs: number): { level: 'ok' | 'warn' | 'bad'; text: string } {
  const ago = (iso: string | undefined) => (iso ? `${roughDuration(nowMs - Date.parse(iso))} ago` : 'at an unknown time (the log lines carry no date)');
  const tasks = w.tasksDone !== undefined && w.tasksNeeded !== undefined ? `${w.tasksDone}/${w.tasksNeeded} tasks` : 'tasks unknown';
  if (w.state === 'emitting') return { level: 'ok', text: `emitted for epoch ${w.lastEmitEpoch ?? '?'}, ${ago(w.lastEmitAt)}` };
  if (w.state === 'warming-up') {
    const since = w.startedAt ? `since the restart ${ago(w.startedAt)}` : 'since a restart of unknown time';
    const before = w.lastEmitEpoch !== undefined ? `; last weights before it: epoch ${w.lastEmitEpoch}, ${ago(w.lastEmitAt)}` : '';
    return { level: 'warn', text: `warming up ${since}: ${tasks} (no weights until ${w.tasksNeeded ?? 'M'})${before}` };
  }
  return { level: 'bad', text: `cannot tell: ${w.why ?? 'unknown'}` };
}

import { tryLock } from '../adapters/lock.js';
import type { Context } from '../core/context.js';
import { countRun } from '../core/metrics.js';
import { readState, writeState } from '../core/state.js';
import { publishMetrics, salvageTarget } from './metrics-publish.js';

/**
 * A run stopped by an invalid config still counts (DESIGN.md §12): when the namespace
 * can be told (PM2_NAMESPACE, else the file name) and METRICS_DIR is set, the run is
 * counted as `invalid-config` in the state and the metrics file is rewritten, so a
 * config broken under a timer shows on the dashboard. Without METRICS_DIR nothing is
 * written. Never throws: the config error is what the operator must see.
 */
export async function countConfigErrorRun(ctx: Context, configFile: string): Promise<void> {
  const warning = await record(ctx, configFile);
  if (warning) ctx.stderr(`alphacore: warning: ${warning}\n`);
}

async function record(ctx: Context, configFile: string): Promise<string | undefined> {
  try {
    const salvaged = salvageTarget(ctx, configFile);
    if (!salvaged?.metricsDir) return undefined;
    const { namespace, metricsDir } = salvaged;
    // The state belongs to whoever holds the lock; a live run will write the file anyway.
    const lock = await tryLock(salvaged.lockfile ?? ctx.paths.lock(namespace), ctx.env);
    if (!lock) return undefined;
    try {
      const stateFile = ctx.paths.state(namespace);
      const state = readState(stateFile, ctx.now());
      state.metrics = countRun(state.metrics, { at: ctx.now().toISOString(), outcome: 'invalid-config' });
      await writeState(stateFile, state);
      return publishMetrics(metricsDir, namespace, state, configFile);
    } finally {
      await lock.release();
    }
  } catch (error) {
    return `could not record the invalid config in the metrics: ${(error as Error).message}`;
  }
}

import fs from 'node:fs';
import type { Context } from '../../core/context.js';
import { DEFAULTS } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import { emptyMetrics, normalizeMetrics, renderMetrics } from '../../core/metrics.js';
import { readState } from '../../core/state.js';
import { checkNamespace } from '../../scheduler/spec.js';
import { salvageConfig } from './publish.js';

export interface MetricsFlags {
  namespace?: string;
  config?: string;
}

/**
 * `alphacore metrics` (DESIGN.md §12): the Prometheus text the last update run wrote,
 * rendered from the state file. No git, no PM2, no network: safe to run from a scrape
 * script. Exit 0; 2 when the config named cannot be read or names no namespace.
 */
export function runMetrics(ctx: Context, flags: MetricsFlags): number {
  let namespace = flags.namespace ?? DEFAULTS.PM2_NAMESPACE;
  checkNamespace(namespace);
  if (flags.config !== undefined) {
    if (!fs.existsSync(flags.config)) throw new UserError(`--config: ${flags.config} does not exist.`, { hint: 'Pass the auto-update config that `alphacore launch` wrote, or --namespace NS.' });
    const salvaged = salvageConfig(ctx, flags.config);
    if (!salvaged) throw new UserError(`--config: cannot tell the namespace of ${flags.config} (no valid PM2_NAMESPACE, and the file is not named <namespace>.env).`, { hint: 'Pass --namespace NS instead.' });
    namespace = salvaged.namespace;
  }
  const state = readState(ctx.paths.state(namespace), ctx.now());
  if (!state.metrics) ctx.stderr(`alphacore: no update run has been recorded for namespace ${namespace} yet; the counters below are zero.\n`);
  ctx.stdout(renderMetrics(namespace, state.metrics ? normalizeMetrics(state.metrics) : emptyMetrics(), state.quarantine.length));
  return 0;
}

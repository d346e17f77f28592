import fs from 'node:fs';
import { nonRootOwner } from '../../adapters/file-owner.js';
import type { Context } from '../../core/context.js';
import { DEFAULTS } from '../../core/config.js';
import { joinWords } from '../../core/envfile.js';
import { UserError } from '../../core/errors.js';
import { emptyMetrics, normalizeMetrics, renderMetrics } from '../../core/metrics.js';
import { readState } from '../../core/state.js';
import { checkNamespace } from '../../scheduler/spec.js';
import { salvageTarget } from '../../domain/metrics-publish.js';

export interface MetricsFlags {
  namespace?: string;
  config?: string;
}

/**
 * `alphacore metrics` (DESIGN.md §12): the Prometheus text the last update run wrote,
 * rendered from the state file. No git, no PM2, no network: safe to run from a scrape
 * script. Exit 0; 2 when the config named cannot be read or names no namespace, or
 * when run as root with no recorded run (below).
 */
export function runMetrics(ctx: Context, flags: MetricsFlags): number {
  let namespace = flags.namespace ?? DEFAULTS.PM2_NAMESPACE;
  checkNamespace(namespace);
  if (flags.config !== undefined) {
    if (!fs.existsSync(flags.config)) throw new UserError(`--config: ${flags.config} does not exist.`, { hint: 'Pass the auto-update config that `alphacore launch` wrote, or --namespace NS.' });
    const salvaged = salvageTarget(ctx, flags.config);
    if (!salvaged) throw new UserError(`--config: cannot tell the namespace of ${flags.config} (no valid PM2_NAMESPACE, and the file is not named <namespace>.env).`, { hint: 'Pass --namespace NS instead.' });
    namespace = salvaged.namespace;
  }
  const state = readState(ctx.paths.state(namespace), ctx.now());
  if (!state.metrics && ctx.uid === 0) refuseRoot(flags, namespace);
  if (!state.metrics) ctx.stderr(`alphacore: no update run has been recorded for namespace ${namespace} yet; the counters below are zero.\n`);
  ctx.stdout(renderMetrics(namespace, state.metrics ? normalizeMetrics(state.metrics) : emptyMetrics(), state.quarantine.length));
  return 0;
}

/**
 * As root with no recorded run: update refuses root, so the state is the
 * validator user's, under that user's XDG_STATE_HOME, which root cannot know (it is
 * read when root's environment points there, e.g. HOME kept by sudo). Zero counters
 * would mislead a scrape: exit 2 naming the user (the config's owner) and the command.
 */
function refuseRoot(flags: MetricsFlags, namespace: string): never {
  const owner = nonRootOwner([flags.config]);
  const user = owner ? (owner.user ?? `#${owner.uid}`) : undefined;
  const whose = owner ? `${owner.user ?? `the user with uid ${owner.uid}`} (owner of ${owner.path})` : "the validator's own user (the one that ran alphacore launch)";
  const args = flags.config !== undefined ? ` --config ${joinWords([flags.config])}` : flags.namespace !== undefined ? ` --namespace ${flags.namespace}` : '';
  throw new UserError(`metrics runs as root, but update never runs as root, so root has no recorded run for namespace ${namespace}. The update state belongs to ${whose}, under that user's home.`, {
    hint: `Run it as that user: sudo -iu ${user ? joinWords([user]) : '<user>'} alphacore metrics${args}`,
  });
}

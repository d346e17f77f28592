import { nonRootOwner } from '../../adapters/file-owner.js';
import { DEFAULTS } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { joinWords } from '../../core/envfile.js';
import type { ConfigView } from './config-view.js';
import type { RootView } from './report.js';

/**
 * Status run as root. launch, update and the scheduler refuse root, so the
 * validator, its PM2 daemon, its timer and its update state belong to another user, and
 * what root sees of them (root's PM2_HOME, crontab, state dir) says nothing about it.
 * That user is the owner of the config, else of the deploy clone. Undefined when not
 * root, or when both belong to root (a hand-made root setup: root is the user then).
 * A missing config counts too: root has none of its own, and "run launch" is no advice.
 */
export function rootView(ctx: Context, view: ConfigView): RootView | undefined {
  if (ctx.uid !== 0) return undefined;
  const missing = view.summary.state === 'missing';
  const owner = nonRootOwner([missing ? undefined : view.summary.file, view.repoDir]);
  if (!owner && !missing) return undefined;
  const args = missing ? (view.namespace === DEFAULTS.PM2_NAMESPACE ? '' : ` --namespace ${view.namespace}`) : ` --config ${joinWords([view.summary.file])}`;
  const who = owner ? joinWords([owner.user ?? `#${owner.uid}`]) : '<user>';
  return {
    ...(owner ? { uid: owner.uid, ...(owner.user ? { user: owner.user } : {}), owns: owner.path } : {}),
    command: `sudo -iu ${who} alphacore status${args}`,
  };
}

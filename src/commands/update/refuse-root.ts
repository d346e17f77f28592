import type { Context } from '../../core/context.js';
import { UserError } from '../../core/errors.js';
import { joinWords } from '../../core/envfile.js';
import { asOwner } from '../../domain/root-advice.js';

/**
 * DESIGN.md §5 step 0, before the config is even read: as root, a `pm2` call
 * would start a root PM2 daemon beside the operator's, and a fetch would leave
 * root-owned objects in the operator's clone that their own runs cannot
 * rewrite. Nothing is logged either: the namespace's log belongs to the user.
 */
export function refuseRootUpdate(ctx: Context, config?: string): void {
  if (ctx.uid !== 0) return;
  throw new UserError('update refuses to run as root: it drives the PM2 daemon and the deploy clone of the validator\'s own user.', {
    hint: `Run it as that user: \`${asOwner(ctx.cwd, [config], `alphacore update --config ${config ? joinWords([config]) : '...'}`)}\`; the timer that \`alphacore launch\` installs already does.`,
  });
}

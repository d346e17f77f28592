import type { Context } from '../../core/context.js';
import { userName } from '../../scheduler/spec.js';
import { checkSandboxSudo, SANDBOX_SETUP_SCRIPT, sandboxSudoFix } from '../sandbox-sudo.js';
import type { LaunchPlan } from './plan.js';

/**
 * The updater re-runs the sandbox setup with `sudo -n` when a release changes the
 * sandbox; without a NOPASSWD rule such a release ends `failed (preflight)` on every run.
 * launch asks sudo the update's question now and names the rule. undefined: nothing to say
 * (no auto-update, SANDBOX_SETUP=never, no setup script in the clone, or sudo allows it).
 */
export async function sandboxSudoWarning(ctx: Context, plan: LaunchPlan, kept: readonly [string, string][]): Promise<string | undefined> {
  if (!plan.scheduler) return undefined;
  // Precedence as the updater reads it: the config, then the environment.
  const mode = ctx.env.SANDBOX_SETUP || kept.findLast(([key]) => key === 'SANDBOX_SETUP')?.[1] || 'auto';
  if (mode === 'never') return undefined;
  const check = await checkSandboxSudo(ctx, plan.options.repoDir, (await userName(ctx)) ?? '<user>');
  if (!check || check.ok) return undefined;
  const when = mode === 'always' ? 'every update re-runs it' : `updates to a release that changes ${SANDBOX_SETUP_SCRIPT.replace(/setup\.sh$/, '')} re-run it`;
  return `WARNING: sudo would ask for a password to run the sandbox setup (${check.detail}); ${when} with sudo -n, so such an update ends failed (preflight), nothing stopped. ${sandboxSudoFix(check)}`;
}

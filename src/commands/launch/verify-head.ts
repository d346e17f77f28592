import { openGit } from '../../adapters/git.js';
import type { Context } from '../../core/context.js';
import { UserError } from '../../core/errors.js';
import { signatureSettings } from '../../core/signature-config.js';
import { ADVICE, verifySignature, type CommitSignature } from '../../domain/signatures.js';

/**
 * The first deploy is verified too (DESIGN.md §11): with signatures configured (by
 * --allowed-signers, or ALLOWED_SIGNERS already in the auto-update config) launch checks
 * the clone's HEAD against them before it starts anything, so that a clone of a
 * branch an attacker moved is not launched unchecked. HEAD is all there is to check:
 * there is no deployed commit before it (SIGNATURE_POLICY=all has nothing more to walk).
 * Exit 2 (UserError) naming the commit and the verdict; undefined when nothing is
 * configured, else the good verdict for launch's report.
 */
export async function verifyFirstDeploy(
  ctx: Context,
  input: { repoDir: string; allowedSigners?: string; signaturePolicy?: string; kept: readonly [string, string][] },
): Promise<CommitSignature | undefined> {
  const kept = new Map(input.kept);
  const get = (key: 'ALLOWED_SIGNERS' | 'REVOKED_SIGNERS' | 'SIGNATURE_POLICY'): string | undefined => {
    if (key === 'ALLOWED_SIGNERS' && input.allowedSigners) return input.allowedSigners;
    if (key === 'SIGNATURE_POLICY' && input.signaturePolicy) return input.signaturePolicy;
    return ctx.env[key] || kept.get(key) || undefined;
  };
  const problems: string[] = [];
  const settings = signatureSettings(get, (text) => problems.push(text));
  if (problems.length > 0) throw new UserError(`The signature settings cannot be used:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  if (!settings) return undefined;
  const git = openGit(input.repoDir, ctx.env);
  const head = await git.headSha();
  const check = await verifySignature(git, settings, head, ctx.now().getTime());
  if (check.verdict === 'good') return check;
  throw new UserError(
    `The deploy clone ${input.repoDir} is at ${head}, which fails the signature policy (ALLOWED_SIGNERS=${settings.allowedSigners}): ${check.verdict}: ${check.detail}. Nothing was started.`,
    { hint: `${ADVICE[check.verdict]} Or check out a release commit that is signed (git -C ${input.repoDir} log --show-signature), then run launch again.` },
  );
}

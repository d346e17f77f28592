import { openGit } from '../../adapters/git.js';
import type { Context } from '../../core/context.js';
import type { SignatureSettings } from '../../core/signature-config.js';
import { evaluatePolicy, verifySignature, type CommitSignature } from '../../domain/signatures.js';
import type { RepoView, SignaturesView } from './report.js';

const view = (c: CommitSignature) => ({ sha: c.sha, verdict: c.verdict, ...(c.principal ? { principal: c.principal } : {}), ...(c.fingerprint ? { fingerprint: c.fingerprint } : {}), detail: c.detail });

/**
 * The signer of HEAD and of the target, and whether the target passes the policy as
 * `update` would judge it now (DESIGN.md §7, §11). Offline: git verify-commit only.
 */
export async function probeSignatures(ctx: Context, settings: SignatureSettings, repo: RepoView, timeoutMs: number): Promise<SignaturesView> {
  const base: SignaturesView = { policy: settings.policy, allowedSigners: settings.allowedSigners, ...(settings.revokedSigners ? { revokedSigners: settings.revokedSigners } : {}) };
  if (!repo.dir || !repo.head) return { ...base, error: 'HEAD is not known' };
  const git = openGit(repo.dir, ctx.env, timeoutMs);
  const nowMs = ctx.now().getTime();
  const head = await verifySignature(git, settings, repo.head.sha, nowMs);
  if (!repo.target) return { ...base, head: view(head), error: 'the remote-tracking ref is not known' };
  // Nothing to deploy: update returns up-to-date before any verification.
  if (repo.target.sha === repo.head.sha) return { ...base, head: view(head), target: view(head) };
  const result = await evaluatePolicy(git, settings, repo.head.sha, repo.target.sha, nowMs);
  const target = result.target ?? (await verifySignature(git, settings, repo.target.sha, nowMs));
  return { ...base, head: view(head), target: view(target), holds: result.holds, ...(result.failing ? { failing: view(result.failing) } : {}) };
}

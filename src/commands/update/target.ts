import type { Git } from '../../adapters/git.js';

/**
 * Step 5 of the cycle (DESIGN.md §5, §13): which commit this run brings the clone to.
 * REMOTE/BRANCH by default; `update --to SHA` or `PIN=SHA` in the config name a commit
 * instead, whatever the branch does, as long as that commit is on the fetched branch
 * (the branch tip or one of its ancestors). A fleet rollout pins every host first, so
 * that the timers stay put while the canary goes first.
 */

export type TargetSource = 'branch' | 'to' | 'pin';

/** What the run observed about the requested commit (facts only, from git). */
export interface RequestedCommit {
  source: 'to' | 'pin';
  /** As the operator wrote it (a full or abbreviated sha). */
  given: string;
  /** The full sha, when the clone has that commit after the fetch. */
  sha?: string;
  /** Whether that commit is the branch tip or one of its ancestors. */
  onBranch: boolean;
}

export type TargetChoice =
  | { ok: true; sha: string; source: TargetSource }
  | { ok: false; reason: 'target-not-on-branch'; message: string };

/** `--to` wins over PIN (flags over config); neither means the branch. */
export function requestedRev(to: string | undefined, pin: string | undefined): { source: 'to' | 'pin'; given: string } | undefined {
  if (to) return { source: 'to', given: to };
  if (pin) return { source: 'pin', given: pin };
  return undefined;
}

/** Pure: the target of this run, or why the requested commit is refused (exit 2). */
export function chooseTarget(input: { branchTip: string; requested?: RequestedCommit; remote: string; branch: string; configFile: string }): TargetChoice {
  const { branchTip, requested, remote, branch } = input;
  if (!requested) return { ok: true, sha: branchTip, source: 'branch' };
  if (requested.sha && requested.onBranch) return { ok: true, sha: requested.sha, source: requested.source };
  const what = requested.source === 'to' ? `--to ${requested.given}` : `PIN=${requested.given} in ${input.configFile}`;
  const fix =
    requested.source === 'to'
      ? `Pass a commit of ${remote}/${branch} (git -C <repo> log --oneline ${remote}/${branch}).`
      : `Set PIN to a commit of ${remote}/${branch}, or remove the PIN line to follow the branch again.`;
  const why = requested.sha
    ? `commit ${requested.sha.slice(0, 12)} is not on ${remote}/${branch} (not its tip ${branchTip.slice(0, 12)} nor an ancestor of it)`
    : `no commit ${requested.given} exists in the clone after fetching ${remote}/${branch}`;
  return { ok: false, reason: 'target-not-on-branch', message: `${what}: ${why}; refusing to deploy it. Nothing was touched. ${fix}` };
}

/**
 * Observes what chooseTarget needs (one or two git calls, only when a commit was
 * requested) and returns its choice. observe.ts calls it after the fetch.
 */
export async function resolveTarget(
  git: Git,
  input: { branchTip: string; to: string | undefined; pin: string | undefined; remote: string; branch: string; configFile: string },
): Promise<TargetChoice> {
  const rev = requestedRev(input.to, input.pin);
  let requested: RequestedCommit | undefined;
  if (rev) {
    const sha = await git.commitSha(rev.given);
    requested = { ...rev, sha, onBranch: sha !== undefined && (await git.isAncestor(sha, input.branchTip)) };
  }
  return chooseTarget({ ...input, requested });
}

import { openGit, type Git } from '../../adapters/git.js';
import { inspectIndexLock, type IndexLock } from '../../adapters/git-processes.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { journalProblem, type Journal, type UpdateState } from '../../core/state.js';
import { resolveTarget } from './target.js';
import { inspectRoundLock, probeApi, type ApiState, type RoundLock } from '../../domain/gates.js';

/**
 * Facts only (the "observe" stage): what the clone, the remote, the state and the gates
 * say right now. Nothing here decides or acts; decide.ts turns facts into a plan.
 * Observation stops early where the decision can no longer depend on more (a dirty
 * clone is never fetched), so a facts value may lack the later parts.
 */
export interface GateFacts {
  roundLock: RoundLock;
  /** Not asked when the round lock is live. */
  api?: ApiState;
}

export type JournalFacts =
  | { kind: 'none' }
  | { kind: 'valid'; journal: Journal }
  /** A journal that cannot be acted on: garbage, or naming commits this clone lacks. */
  | { kind: 'invalid'; why: string; raw: unknown };

export interface Facts {
  journal: JournalFacts;
  dirty?: string[];
  indexLock?: IndexLock;
  fetchError?: string;
  head?: string;
  target?: string;
  branch?: string | undefined;
  /** Commits on HEAD that no remote-tracking branch has. */
  localCommits?: string[];
  /** Files that differ between HEAD and the target (git diff --no-renames). */
  changed?: string[];
  /** --to or PIN named a commit that is not on REMOTE/BRANCH (exit 2, nothing touched). */
  targetRefusal?: { reason: string; message: string };
  /** --to or PIN chose another commit than the branch tip: said in the log. */
  targetNote?: string;
  /** Who chose the target: the branch, --to or PIN (the history policy judges only the branch). */
  targetSource?: 'branch' | 'to' | 'pin';
  /** Whether the target descends from HEAD (asked only under HISTORY_POLICY=forward). */
  forward?: boolean;
  /** Quarantined commits (from the state). */
  quarantine?: string[];
  gates?: GateFacts;
}

export interface Observer {
  git: Git;
  journal(state: UpdateState): Promise<JournalFacts>;
  clone(): Promise<Pick<Facts, 'dirty' | 'indexLock'>>;
  remote(): Promise<Pick<Facts, 'fetchError' | 'head' | 'target' | 'branch' | 'localCommits' | 'targetRefusal' | 'targetNote' | 'targetSource'>>;
  /** Whether the target descends from HEAD (git merge-base --is-ancestor). */
  history(head: string, target: string): Promise<Pick<Facts, 'forward'>>;
  /** The files that differ between HEAD and the target, asked only once the gates let the update go on. */
  changes(head: string, target: string): Promise<Pick<Facts, 'changed'>>;
  gates(): Promise<GateFacts>;
}

export function observer(ctx: Context, config: AutoupdateConfig, flags: { to?: string } = {}): Observer {
  const git = openGit(config.repoDir, ctx.env);
  return {
    git,
    async journal(state) {
      const raw: unknown = state.journal;
      if (raw === undefined) return { kind: 'none' };
      const problem = journalProblem(raw);
      if (problem) return { kind: 'invalid', why: problem, raw };
      const journal = raw as Journal;
      for (const [side, sha] of [['from', journal.from], ['to', journal.to]] as const) {
        if (!(await git.commitExists(sha).catch(() => false))) {
          return { kind: 'invalid', why: `its "${side}" commit ${sha.slice(0, 7)} does not exist in ${config.repoDir}`, raw };
        }
      }
      return { kind: 'valid', journal };
    },
    async clone() {
      return { dirty: await git.dirtyTrackedFiles(), indexLock: inspectIndexLock(config.repoDir, ctx.now().getTime()) };
    },
    async remote() {
      try {
        await git.fetch(config.remote, config.branch);
      } catch (error) {
        return { fetchError: (error as Error).message };
      }
      const {
        shas: [head, tip],
        branch,
      } = await git.revParseAndBranch(['HEAD', `refs/remotes/${config.remote}/${config.branch}`]);
      // --to or PIN may name another commit of the branch (step 5).
      const choice = await resolveTarget(git, { branchTip: tip!, to: flags.to, pin: config.pin, remote: config.remote, branch: config.branch, configFile: config.file });
      if (!choice.ok) return { head, targetRefusal: { reason: choice.reason, message: choice.message } };
      const target = choice.sha;
      const targetNote =
        choice.source !== 'branch' && target !== tip
          ? `target ${target.slice(0, 7)} (${choice.source === 'to' ? '--to' : 'PIN'}), not ${config.remote}/${config.branch} at ${tip!.slice(0, 7)}`
          : undefined;
      const localCommits = branch === config.branch ? [] : await git.localCommits();
      return { head, target, branch, localCommits, targetSource: choice.source, ...(targetNote ? { targetNote } : {}) };
    },
    async history(head, target) {
      return { forward: await git.isAncestor(head, target) };
    },
    async changes(head, target) {
      return { changed: head === target ? [] : await git.changedFiles(head, target) };
    },
    async gates() {
      const roundLock = inspectRoundLock(config.roundLockfile, ctx.now().getTime(), config.roundLockMaxAgeMs, ctx.uid);
      if (roundLock.kind === 'live') return { roundLock };
      return { roundLock, api: await probeApi(config.validationApiEndpoint) };
    },
  };
}

import fs from 'node:fs';
import path from 'node:path';
import type { Git } from '../../adapters/git.js';
import { inspectIndexLock, type IndexLock } from '../../adapters/git-processes.js';
import { journalProblem, type Journal, type UpdateState } from '../../core/state.js';
import { SCRIPTS } from './deploy-plan.js';
import type { FallbackVenv } from './plan.js';
import type { Run } from './run.js';
import { resolveTarget } from './target.js';
import { COMPLETE_MARKER, isComplete, venvName, venvRoot, type VenvKind } from './venv-names.js';
import { inspectRoundLock, probeApi, type ApiState, type RoundLock } from '../../domain/gates.js';
import { pm2Home } from '../../adapters/pm2-home.js';
import type { RestartWait } from '../../core/restart-config.js';
import { subnetVersion, SUBNET_VERSION_FILE } from '../../domain/warmup.js';
import { observeWarmup, validatorOutLog } from '../../domain/warmup-read.js';
import type { RestartFacts } from './restart-budget.js';

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
  /** Quarantined commits (from the state). */
  quarantine?: string[];
  gates?: GateFacts;
  /** The weights warm-up and `__version__` on both sides (asked only under RESTART_POLICY=coalesce). */
  restart?: RestartFacts;
  /** The venvs each side of a swap (or a recovery) would run with; asked once the update may go on. */
  venvs?: VenvFacts;
  /** The namespace's PM2 processes (what the stop stops); undefined names when PM2 could not be asked. */
  processes?: { names: string[] | undefined; why?: string };
}

export interface VenvFacts {
  /** Per commit: the prepared venv each kind would use, and whether a complete one exists; absent without a requirements file. */
  sides: Record<string, Partial<Record<VenvKind, { dir: string; complete: boolean }>> | undefined>;
  fallback: FallbackVenv;
}

export interface Observer {
  git: Git;
  journal(state: UpdateState): Promise<JournalFacts>;
  clone(): Promise<Pick<Facts, 'dirty' | 'indexLock'>>;
  remote(): Promise<Pick<Facts, 'fetchError' | 'head' | 'target' | 'branch' | 'localCommits' | 'targetRefusal' | 'targetNote'>>;
  /** The files that differ between HEAD and the target, asked only once the gates let the update go on. */
  changes(head: string, target: string): Promise<Pick<Facts, 'changed'>>;
  gates(): Promise<GateFacts>;
  /** The validator's warm-up from its log, and `__version__` at HEAD and the target (git show). */
  restart(head: string, target: string, waiting: RestartWait | undefined): Promise<RestartFacts>;
  venvs(commits: string[]): Promise<Pick<Facts, 'venvs'>>;
  /** `startsNothing`: ask only a running daemon (a dry run must not start one through the CLI). */
  processes(startsNothing: boolean): Promise<Pick<Facts, 'processes'>>;
}

export function observer(run: Run, flags: { to?: string } = {}): Observer {
  const { ctx, config, git } = run;
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
      return { head, target, branch, localCommits, ...(targetNote ? { targetNote } : {}) };
    },
    async changes(head, target) {
      return { changed: head === target ? [] : await git.changedFiles(head, target) };
    },
    async gates() {
      const roundLock = inspectRoundLock(config.roundLockfile, ctx.now().getTime(), config.roundLockMaxAgeMs);
      if (roundLock.kind === 'live') return { roundLock };
      return { roundLock, api: await probeApi(config.validationApiEndpoint) };
    },
    async restart(head, target, waiting) {
      const name = config.validatorProcessName;
      const weights = observeWarmup({ log: validatorOutLog(config.repoDir, name), pm2Home: pm2Home(ctx), processName: name });
      const version = async (sha: string) => {
        const blob = await git.show(sha, SUBNET_VERSION_FILE).catch(() => undefined);
        return blob ? subnetVersion(blob.toString('utf8')) : undefined;
      };
      const [versionHead, versionTarget] = await Promise.all([version(head), version(target)]);
      return {
        explicit: flags.to !== undefined,
        weights,
        ...(versionHead !== undefined ? { versionHead } : {}),
        ...(versionTarget !== undefined ? { versionTarget } : {}),
        ...(waiting ? { waiting } : {}),
      };
    },
    async venvs(commits) {
      const root = venvRoot(ctx);
      const sides: VenvFacts['sides'] = {};
      for (const sha of commits) {
        const requirements = await git.show(sha, SCRIPTS.requirements);
        if (requirements === undefined) {
          sides[sha] = undefined;
          continue;
        }
        const side: NonNullable<VenvFacts['sides'][string]> = {};
        for (const kind of ['validator', 'api'] as const) {
          const dir = path.join(root, venvName(kind, requirements));
          side[kind] = { dir, complete: isComplete(dir) };
        }
        sides[sha] = side;
      }
      return { venvs: { sides, fallback: fallbackValidatorVenv(config.given.validatorVenvDir, config.repoDir, run.state) } };
    },
    async processes(startsNothing) {
      if (startsNothing && !(await run.daemon.get())) {
        return { processes: { names: undefined, why: `no PM2 daemon answers on its socket (${run.daemon.why() ?? 'none runs'}); a dry run does not start one` } };
      }
      try {
        return { processes: { names: (await run.pm2.list(config.namespace)).map((p) => p.name) } };
      } catch (error) {
        return { processes: { names: undefined, why: (error as Error).message } };
      }
    },
  };
}

/**
 * The validator venv for a side of a swap that has no prepared one (its commit has no
 * requirements file, a journal from before §5.4): the config's VALIDATOR_VENV_DIR, else
 * launch's default. The update never rewrites the config (docs/update-cycle.md, "Which
 * venv the config names"), so after updates the key may name an older venv; it is kept
 * while the config names it. Only when the folder it names is gone (removed by an older
 * updater) and the state records the complete prepared venv the validator runs on, that
 * one: a relaunch into a missing path would start a validator that cannot run.
 * `override` is set only then, for the relaunch (which otherwise uses the config's own).
 */
export function fallbackValidatorVenv(named: string | undefined, repoDir: string, state: UpdateState): FallbackVenv {
  const current = state.venvs?.current?.validator;
  if (named && !fs.existsSync(named) && current && fs.existsSync(path.join(current, COMPLETE_MARKER))) return { dir: current, override: current };
  return { dir: named ?? path.join(repoDir, 'venv') };
}

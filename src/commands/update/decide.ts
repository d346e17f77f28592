import type { Decision } from '../../domain/outcome.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Journal } from '../../core/state.js';
import { retryDelayMs } from '../../core/retry.js';
import { planDeploy, type DeployPlan } from './deploy-plan.js';
import type { Facts, VenvFacts } from './observe.js';
import { deployTarget, type RecoverSteps, type SwapSteps, type SwapVenvs, type VenvStep } from './plan.js';
import type { ApiState, RoundLock } from '../../domain/gates.js';
import { judgeHistory } from './history.js';
import { judgeRestartBudget } from './restart-budget.js';

export { EXIT_CODES, type Decision, type Outcome } from '../../domain/outcome.js';

export interface Note {
  level: 'info' | 'warn' | 'error';
  text: string;
}

/**
 * What one run will do (the pure "decide" stage): end with an outcome, recover an
 * interrupted update, or prepare and swap to a target, each step spelled out (plan.ts).
 * `--dry-run` prints this value and stops; the real run executes it.
 */
export type UpdatePlan =
  /** Not decidable yet: observe this much more, then decide again (observation stops early). */
  | { kind: 'observe'; need: 'clone' | 'remote' | 'history' | 'gates' | 'restart' | 'changes' | 'venvs' | 'processes' }
  | { kind: 'done'; decision: Decision; from?: string; to?: string; notes: Note[] }
  | { kind: 'recover'; journal: Journal; steps: RecoverSteps; notes: Note[] }
  | { kind: 'swap'; from: string; to: string; deploy: DeployPlan; steps: SwapSteps; notes: Note[]; staleIndexLock?: string };

/** A plan that decides: no more observation needed. */
export type DecidedPlan = Exclude<UpdatePlan, { kind: 'observe' }>;

export interface DecideFlags {
  force: boolean;
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/** Steps 5-6: is there anything to do? undefined means go on to the gates. */
export function decideTarget(input: { head: string; target: string; quarantined: boolean; force: boolean }): Decision | undefined {
  if (input.head === input.target) return { outcome: 'up-to-date' };
  if (input.quarantined && !input.force) return { outcome: 'skipped', reason: 'quarantined' };
  return undefined;
}

/** Step 7: may we restart now? undefined means the gates are open. */
export function decideGates(input: { roundLock: RoundLock; api: ApiState | undefined }): Decision | undefined {
  if (input.roundLock.kind === 'live') return { outcome: 'deferred', reason: 'round-active' };
  if (input.api?.kind === 'busy') return { outcome: 'deferred', reason: 'api-busy' };
  if (input.api?.kind === 'unknown') return { outcome: 'deferred', reason: 'api-unknown' };
  return undefined;
}

/** Gate notes and the deferral, shared by the first check and the one right before the stop. */
export function judgeGates(gates: NonNullable<Facts['gates']>, config: AutoupdateConfig, from: string, to: string): { decision?: Decision; notes: Note[] } {
  const notes: Note[] = [];
  const { roundLock, api } = gates;
  if (roundLock.kind === 'stale') notes.push({ level: 'warn', text: `ignoring stale round lock ${config.roundLockfile}: ${roundLock.detail}` });
  if (api?.kind === 'unreachable') {
    notes.push({ level: 'warn', text: `Validation API ${config.validationApiEndpoint} did not answer (${api.detail}); treating it as idle, since a broken API is what an update may fix` });
  }
  const decision = decideGates({ roundLock, api });
  if (decision) {
    const detail = roundLock.kind === 'live' ? roundLock.detail : api?.kind === 'busy' ? `${api.jobs} active job(s)` : api?.kind === 'unknown' ? api.detail : '';
    notes.push({ level: 'info', text: `update ${short(from)} -> ${short(to)} deferred (${decision.reason}: ${detail}); will retry on the next run` });
  }
  return { decision, notes };
}

/** When a failed rollback may be retried: at the next three runs, then 4, 8 ... 30 minutes after each failure (§5.1). */
export function rollbackRetryDelayMs(attempts: number): number {
  return retryDelayMs(attempts);
}

/** Facts in, plan out; no I/O. */
export function decide(facts: Facts, config: AutoupdateConfig, flags: DecideFlags, nowMs: number): UpdatePlan {
  const done = (decision: Decision, notes: Note[] = [], from = facts.head, to = facts.target): UpdatePlan => ({ kind: 'done', decision, from, to, notes });

  if (facts.journal.kind === 'valid') {
    const journal = facts.journal.journal;
    const due = journal.nextRetryAt ? Date.parse(journal.nextRetryAt) : Number.NaN;
    if (journal.rollbackFailed && !flags.force && Number.isFinite(due) && due > nowMs) {
      const text = `the rollback of ${short(journal.to)} to ${short(journal.from)} failed ${journal.attempts ?? 1} time(s); next retry at ${new Date(due).toISOString()} (or now: alphacore update --config ${config.file} --force)`;
      return done({ outcome: 'failed', reason: 'rollback-failed' }, [{ level: 'error', text }], journal.from, journal.to);
    }
    if (facts.changed === undefined) return { kind: 'observe', need: 'changes' };
    if (facts.venvs === undefined) return { kind: 'observe', need: 'venvs' };
    // The rollback runs on the venvs the interrupted swap recorded for its previous side.
    const venvs: SwapVenvs = { ...(journal.venvs?.from ?? {}) };
    const rollback = deployTarget(config, journal.from, planDeploy(config, facts.changed), venvs, facts.venvs.fallback);
    const finish = !journal.rollingBack && journal.phase === 'health' ? rollback.steps.find((step) => step.step === 'health') : undefined;
    return { kind: 'recover', journal, steps: { journal, rollback, ...(finish && finish.step === 'health' ? { finish } : {}) }, notes: fallbackNotes(config, facts.venvs) };
  }

  if (facts.dirty === undefined) return { kind: 'observe', need: 'clone' };
  if (facts.dirty.length > 0) {
    const list = facts.dirty.slice(0, 5).join(', ') + (facts.dirty.length > 5 ? `, and ${facts.dirty.length - 5} more` : '');
    const text = `The deploy clone ${config.repoDir} has changes to tracked files (${list}). Commit or discard them (git -C ${config.repoDir} stash); the updater only deploys clean clones.`;
    return done({ outcome: 'refused', reason: 'dirty-worktree' }, [{ level: 'error', text }]);
  }
  const lock = facts.indexLock;
  // Held by a live git, or fresh enough that a git we cannot see may hold it: never
  // start a swap whose reset would fail with the services stopped.
  if (lock?.present && (lock.holders.length > 0 || (lock.ageMs ?? 0) < 10 * 60_000)) {
    const who = lock.holders.length > 0 ? `git is running in the clone (pid ${lock.holders.join(', ')})` : 'a git command may be running in the clone';
    const text = `${lock.path} exists: ${who}. Nothing was stopped; the next run tries again. If no git runs there, remove it (rm ${lock.path}).`;
    return done({ outcome: 'failed', reason: 'index-locked' }, [{ level: 'error', text }]);
  }
  if (facts.head === undefined && facts.fetchError === undefined) return { kind: 'observe', need: 'remote' };
  if (facts.fetchError !== undefined) {
    const text = `${facts.fetchError}. Nothing was touched; check the network and that ${config.remote} has a branch ${config.branch}.`;
    return done({ outcome: 'failed', reason: 'fetch-failed' }, [{ level: 'error', text }]);
  }
  if (facts.targetRefusal) return done({ outcome: 'invalid-config', reason: facts.targetRefusal.reason }, [{ level: 'error', text: facts.targetRefusal.message }]);
  const { head, target } = facts;
  if (!head || !target) return done({ outcome: 'failed', reason: 'error' }, [{ level: 'error', text: 'could not resolve HEAD and the target' }]);
  if (facts.localCommits && facts.localCommits.length > 0 && facts.branch !== config.branch) {
    const where = facts.branch === undefined ? 'a detached HEAD' : `branch ${facts.branch}`;
    const text =
      `The deploy clone ${config.repoDir} is on ${where} (not ${config.branch}) with ${facts.localCommits.length === 5 ? '5 or more' : facts.localCommits.length} commit(s) no remote has (${facts.localCommits.map(short).join(', ')}). ` +
      `An update would move ${facts.branch ?? 'HEAD'} to ${config.remote}/${config.branch} and lose them. Nothing was touched: push or save them, then git -C ${config.repoDir} checkout ${config.branch}.`;
    return done({ outcome: 'refused', reason: facts.branch === undefined ? 'detached-head' : `branch-${facts.branch}` }, [{ level: 'error', text }]);
  }
  // --to / PIN chose `target` in observe; decide treats it the same.
  const chosen: Note[] = facts.targetNote ? [{ level: 'info', text: facts.targetNote }] : [];
  // Step 5's history policy (history.ts): before the quarantine and the gates, like the target itself.
  const history = judgeHistory({ head, target, source: facts.targetSource, forward: facts.forward }, config);
  if (history.kind === 'observe') return { kind: 'observe', need: 'history' };
  if (history.kind === 'refuse') return done(history.decision, [...chosen, { level: 'error', text: history.text }]);
  if (history.note) chosen.push({ level: 'warn', text: history.note });
  const targetDecision = decideTarget({ head, target, quarantined: Boolean(facts.quarantine?.includes(target)), force: flags.force });
  if (targetDecision) return done(targetDecision, chosen);
  if (!flags.force && facts.gates === undefined) return { kind: 'observe', need: 'gates' };

  const notes: Note[] = [...chosen];
  if (flags.force) notes.push({ level: 'warn', text: '--force: skipping the quarantine and the round/API gates' });
  else if (facts.gates) {
    const judged = judgeGates(facts.gates, config, head, target);
    notes.push(...judged.notes);
    if (judged.decision) return done(judged.decision, notes);
  }
  // RESTART_POLICY=coalesce: a warm validator keeps its weights (restart-budget.ts); --force goes now.
  if (!flags.force && config.restart?.policy === 'coalesce') {
    if (facts.restart === undefined) return { kind: 'observe', need: 'restart' };
    const budget = judgeRestartBudget(facts.restart, config.restart, head, target, nowMs);
    notes.push({ level: 'info', text: budget.note });
    if (budget.decision) return done(budget.decision, notes);
  }
  // Asked only now: a deferred or skipped run never needs the diff (one git call less on the timer's runs).
  if (facts.changed === undefined) return { kind: 'observe', need: 'changes' };
  if (facts.venvs === undefined) return { kind: 'observe', need: 'venvs' };
  if (facts.processes === undefined) return { kind: 'observe', need: 'processes' };
  const deploy = planDeploy(config, facts.changed);
  const steps = swapSteps(config, deploy, head, target, facts.venvs, facts.processes.names);
  notes.push(...fallbackNotes(config, facts.venvs));
  if (facts.processes.why) notes.push({ level: 'info', text: `the namespace's processes are not known: ${facts.processes.why}` });
  if (!facts.venvs.sides[target]) notes.push({ level: 'warn', text: `the target ${short(target)} has no modules/requirements.txt: no venv prepared; the swap uses the configured venvs` });
  // An old lock no live git holds was left by a killed git: the swap removes it first.
  const staleIndexLock = lock?.present ? lock.path : undefined;
  if (staleIndexLock) notes.push({ level: 'warn', text: `${staleIndexLock} is old and no git process runs in the clone; removing it before the swap` });
  return { kind: 'swap', from: head, to: target, deploy, steps, notes, ...(staleIndexLock ? { staleIndexLock } : {}) };
}

function fallbackNotes(config: AutoupdateConfig, venvs: VenvFacts): Note[] {
  const override = venvs.fallback.override;
  return override ? [{ level: 'warn', text: `the config's VALIDATOR_VENV_DIR ${config.given.validatorVenvDir} does not exist; using the prepared venv the state records, ${override}` }] : [];
}

/**
 * The swap's steps: the venvs each side needs (the target's carry the swap, the current
 * commit's the rollback; a commit without a requirements file runs on the configured
 * venvs), the stop, and the deploy of each side.
 */
export function swapSteps(config: AutoupdateConfig, deploy: DeployPlan, from: string, to: string, venvFacts: VenvFacts, processes: string[] | undefined): SwapSteps {
  const kinds = deploy.api ? (['validator', 'api'] as const) : (['validator'] as const);
  const venvs: VenvStep[] = [];
  const sideVenvs: Record<'to' | 'from', SwapVenvs> = { to: {}, from: {} };
  for (const [side, commit] of [['to', to], ['from', from]] as const) {
    const found = venvFacts.sides[commit];
    if (!found) continue;
    for (const kind of kinds) {
      const venv = found[kind];
      if (!venv) continue;
      venvs.push({ step: 'venv', side, kind, commit, dir: venv.dir, action: venv.complete ? 'reuse' : 'prepare' });
      sideVenvs[side][kind] = venv.dir;
    }
  }
  return {
    venvs,
    stop: { step: 'stop', namespace: config.namespace, processes },
    forward: deployTarget(config, to, deploy, sideVenvs.to, venvFacts.fallback),
    rollback: deployTarget(config, from, deploy, sideVenvs.from, venvFacts.fallback),
  };
}

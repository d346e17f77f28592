import { tryLock, type HeldLock } from '../../adapters/lock.js';
import type { Interrupts } from '../../adapters/interrupts.js';
import type { Context } from '../../core/context.js';
import { loadConfig, type AutoupdateConfig } from '../../core/config.js';
import { OperationError, UserError } from '../../core/errors.js';
import { UpdateLog } from '../../core/log.js';
import { readStateChecked, type UpdateState } from '../../core/state.js';
import { recordConfigError } from './config-error.js';
import { convergeFirst, keepDown } from './converge-check.js';
import { decide, EXIT_CODES, type UpdatePlan } from './decide.js';
import type { Facts } from './observe.js';
import { observer } from './observe.js';
import { recordRun, type PendingNotice } from './record.js';
import { refuseRootUpdate } from './refuse-root.js';
import type { RestartDecision, RunIo } from './session.js';

export interface UpdateFlags {
  config: string;
  repoDir?: string;
  remote?: string;
  branch?: string;
  /** A commit of REMOTE/BRANCH to deploy instead of its tip (§5 step 5). */
  to?: string;
  dryRun: boolean;
  force: boolean;
  json: boolean;
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/**
 * The guarded update cycle (DESIGN.md §5), in stages:
 *   lock -> observe -> decide (pure: an UpdatePlan) -> dry run: print the plan, stop
 *        -> prepare (adds venvs, stops nothing) -> preflight and the gates again
 *        -> swap (critical section, rollback armed before the first stop) -> record.
 * Returns the exit code. Signals and a closed stdout are noted by the guard (see
 * adapters/interrupts.ts) and never end the run between the stop and the start.
 */
export async function runUpdate(ctx: Context, flags: UpdateFlags): Promise<number> {
  refuseRootUpdate(ctx); // step 0: before the config, the log, git or PM2
  const interrupts = ctx.guard?.();
  const guarded: Context = interrupts ? { ...ctx, stdout: (t) => interrupts.write(t), stderr: (t) => safe(() => ctx.stderr(t)) } : ctx;
  try {
    return await cycle(guarded, flags, interrupts);
  } finally {
    interrupts?.dispose();
  }
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // output errors are ignored: the log file has everything
  }
}

async function cycle(ctx: Context, flags: UpdateFlags, interrupts: Interrupts | undefined): Promise<number> {
  const log = new UpdateLog(ctx, flags.json);
  let config: AutoupdateConfig;
  try {
    config = loadConfig(flags.config, ctx.env, flags, ctx.paths);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    // A dry run touches nothing (§5.8), not even to record the error: the terminal shows it.
    if (!flags.dryRun) {
      await recordConfigError(ctx, flags.config, error).catch(() => undefined);
      await (await import('./lazy-stages.js')).countConfigErrorRun(ctx, flags.config);
    }
    if (!flags.json) throw error;
    log.event({ event: 'result', outcome: 'invalid-config', reason: error.message, from: null, to: null });
    return EXIT_CODES['invalid-config'];
  }
  log.attach(ctx.paths.log(config.namespace), config.logMaxBytes, config.secrets);
  for (const warning of config.warnings) log.warn(warning);

  let lock: HeldLock | undefined;
  try {
    lock = await tryLock(config.lockfile, ctx.env);
  } catch (error) {
    log.error(`cannot take the lock ${config.lockfile}: ${(error as Error).message}; nothing was touched`);
    return result(log, { outcome: 'failed', reason: 'lock' }, undefined, undefined, 1);
  }
  if (!lock) return finish({ ctx, config, log }, undefined, { outcome: 'locked', reason: 'another update is running' }, undefined, undefined, []);
  try {
    const { state, setAside } = readStateChecked(ctx.paths.state(config.namespace), ctx.paths.history(config.namespace), ctx.now());
    const notices: PendingNotice[] = [];
    if (setAside) {
      const text = `the state file was unusable (${setAside.detail}); set aside as ${setAside.copy} and rebuilt, ${setAside.recoveredQuarantine} quarantined commit(s) recovered from the history`;
      log.error(text);
      notices.push({ outcome: 'state-reset', reason: 'corrupt-state', summary: text });
    }
    const run: RunIo = { ctx, config, log, state, interrupts };
    // §5.5: the namespace against what the state says is deployed, before any release.
    const converged = await convergeFirst(run, flags);
    if (converged?.decision) return await finish(run, state, converged.decision, converged.head, converged.head, notices);
    let decision: RestartDecision;
    let from: string | undefined;
    let to: string | undefined;
    try {
      const plan = await observeAndDecide(run, flags, notices);
      from = plan.kind === 'recover' ? plan.journal.from : plan.from;
      to = plan.kind === 'recover' ? plan.journal.to : plan.to;
      decision = keepDown(await act(run, plan, flags), converged);
    } catch (error) {
      if (!(error instanceof OperationError)) throw error;
      log.error(error.message);
      decision = { outcome: 'failed', reason: 'error' };
    }
    return await finish(run, state, decision, from, to, notices);
  } finally {
    await lock.release().catch(() => undefined);
    log.close();
  }
}

/** Observe as much as the decision needs, then decide (pure). A bad journal is set aside first. */
async function observeAndDecide(run: RunIo, flags: UpdateFlags, notices: PendingNotice[]): Promise<Exclude<UpdatePlan, { kind: 'observe' }>> {
  const { ctx, config, log, state } = run;
  const o = observer(ctx, config, { to: flags.to });
  const facts: Facts = { journal: await o.journal(state), quarantine: state.quarantine.map((q) => q.sha) };
  if (facts.journal.kind === 'invalid') {
    // Garbage, or commits this clone lacks: acting on it could only stop services and fail.
    const text = `the journal of an interrupted update cannot be acted on (${facts.journal.why}); ${flags.dryRun ? 'a real run sets it aside' : 'set aside in the state file (badJournal)'}, nothing was stopped; check pm2 list --namespace ${config.namespace}`;
    log.error(text);
    if (!flags.dryRun) {
      state.badJournal = { at: ctx.now().toISOString(), why: facts.journal.why, journal: facts.journal.raw };
      delete state.journal;
      notices.push({ outcome: 'bad-journal', reason: 'bad-journal', summary: text });
    }
    facts.journal = { kind: 'none' };
  }
  for (;;) {
    let plan = decide(facts, config, flags, ctx.now().getTime());
    if (plan.kind === 'swap' || (plan.kind === 'done' && plan.decision.outcome === 'would-update')) {
      // Step 8a, before the dry-run answer: a dry run must not say would-update for a
      // commit the real run refuses. (Signature check: signatures.ts.)
      const { checkSignatures } = await import('./lazy-stages.js');
      const unsigned = await checkSignatures({ ctx, config, log, from: facts.head!, to: facts.target!, dryRun: flags.dryRun, git: o.git });
      if (unsigned) plan = { kind: 'done', decision: unsigned, from: facts.head, to: facts.target, notes: plan.notes };
    }
    if (plan.kind !== 'observe') {
      for (const note of plan.notes) log[note.level](note.text);
      if (flags.dryRun) log.event({ event: 'plan', plan: plan.kind === 'done' ? { kind: 'done', ...plan.decision } : plan });
      return plan;
    }
    if (plan.need === 'gates') facts.gates = await o.gates();
    else if (plan.need === 'changes') Object.assign(facts, await o.changes(facts.head!, facts.target!));
    else Object.assign(facts, await o[plan.need]());
  }
}

/** The apply half: only here does anything get stopped or changed. */
async function act(run: RunIo, plan: Exclude<UpdatePlan, { kind: 'observe' }>, flags: UpdateFlags): Promise<RestartDecision> {
  if (plan.kind === 'done') return plan.decision;
  const { openSession, recoverInterrupted, prepareAndSwap } = await import('./lazy-stages.js');
  const s = openSession(run);
  try {
    // Once the critical section is entered (here, or in swap at the journal write) it
    // lasts through the record stage: the history and state of a rollback are written.
    if (plan.kind === 'recover') {
      run.interrupts?.critical(true);
      return await recoverInterrupted(run, s, plan.journal);
    }
    return await prepareAndSwap(run, s, plan, flags);
  } finally {
    s.close();
  }
}

async function finish(
  run: Pick<RunIo, 'ctx' | 'config' | 'log'>,
  state: UpdateState | undefined,
  decision: RestartDecision,
  from: string | undefined,
  to: string | undefined,
  notices: PendingNotice[],
): Promise<number> {
  const { ctx, config, log } = run;
  const at = ctx.now().toISOString();
  let code = EXIT_CODES[decision.outcome];
  // Recorded before the result line: with --json the result is always the last line.
  if (state && decision.outcome !== 'locked') {
    const problem = await recordRun({ ctx, log, config, state, decision, from, to, at, extra: notices });
    if (problem) code = Math.max(code, 1);
  }
  // (i14-metrics: the metrics file is written here, after the record, before the result line.)
  const summary: Record<string, string> = {
    locked: 'another update run holds the lock; nothing to do',
    refused: decision.reason === 'unsigned' ? `refused: ${decision.detail ?? 'the target fails the signature policy'}` : `refused${decision.reason ? `: ${decision.reason}` : ''}`,
    failed: `failed${decision.reason ? `: ${decision.reason}` : ''}`,
    'up-to-date': `up to date at ${short(from)}`,
    skipped: `${short(to)} is quarantined (it was rolled back); waiting for ${config.remote}/${config.branch} to move (or run update --force)`,
    deferred: `deferred ${short(from)} -> ${short(to)}: ${decision.reason}`,
    'would-update': `would update ${short(from)} -> ${short(to)} (dry run, nothing touched)`,
    'would-recover': `would recover the interrupted update ${short(from)} -> ${short(to)} (dry run, nothing touched)`,
    updated: `updated ${short(from)} -> ${short(to)}`,
    'rolled-back': `rolled back to ${short(from)}${decision.quarantined ? `; ${short(to)} is quarantined` : ''}`,
    restored: `restored the namespace at ${short(from)} (${decision.detail ?? decision.reason})`,
    'invalid-config': `refused: ${decision.reason ?? 'invalid'}; nothing touched`,
  };
  return result(log, decision, from, to, code, summary[decision.outcome]);
}

function result(log: UpdateLog, decision: RestartDecision, from: string | undefined, to: string | undefined, code: number, summary?: string): number {
  const line = `result: ${decision.outcome} (${summary ?? decision.reason ?? decision.outcome})`;
  if (code === 0) log.info(line);
  else log.error(line);
  log.event({ event: 'result', outcome: decision.outcome, ...(decision.reason ? { reason: decision.reason } : {}), from: from ?? null, to: to ?? null, ...(decision.downtimeMs !== undefined ? { downtimeMs: decision.downtimeMs } : {}) });
  return code;
}

import { takeLock, type HeldLock } from '../../adapters/lock.js';
import { clearLockWatch, lockWatchFile } from '../../domain/lock-watch.js';
import type { Interrupts } from '../../adapters/interrupts.js';
import type { Context } from '../../core/context.js';
import { loadConfig, type AutoupdateConfig } from '../../core/config.js';
import { OperationError, UserError } from '../../core/errors.js';
import { UpdateLog } from '../../core/log.js';
import { readStateChecked, type BadJournal } from '../../core/state.js';
import { extraArgsProblems, relaunchArgs } from '../../domain/launch/relaunch-args.js';
import type { LaunchArgs } from '../../domain/launch/options.js';
import { recordConfigError, timerCouldRun } from './config-error.js';
import { convergeFirst, keepDown, type Converged } from './converge-check.js';
import { decide, EXIT_CODES, type DecidedPlan } from './decide.js';
import type { Facts } from './observe.js';
import { observer } from './observe.js';
import type { RestartDecision } from './outcome.js';
import { describeSteps } from './plan.js';
import { recordRun, type PendingNotice } from './record.js';
import { refuseRootUpdate } from './refuse-root.js';
import { goLive, openRun, type LiveRun, type Run } from './run.js';
import { sayInterrupts } from './signals.js';

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
 * The guarded update cycle (DESIGN.md §5):
 *   lock -> run (opened) -> observe -> plan = decide(facts)
 *        -> dry run: print the plan, return (nothing recorded)
 *        -> apply(plan) (prepare -> swap with rollback armed -> recover) -> record(outcome).
 * Returns the exit code. Signals and a closed stdout are noted by the guard (see
 * adapters/interrupts.ts) and never end the run between the stop and the start.
 */
export async function runUpdate(ctx: Context, flags: UpdateFlags): Promise<number> {
  refuseRootUpdate(ctx, flags.config); // step 0: before the config, the log, git or PM2
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

/** The config as the update uses it (step 1): validated, VALIDATOR_EXTRA_ARGS' flags included. */
async function loadUpdateConfig(ctx: Context, flags: UpdateFlags): Promise<AutoupdateConfig> {
  const config = loadConfig(flags.config, ctx.env, flags, ctx.paths);
  const problems = await extraArgsProblems(config);
  if (problems.length > 0) {
    throw new UserError(`Invalid auto-update config ${config.file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      problems,
      hint: 'Fix VALIDATOR_EXTRA_ARGS in the file (or the environment variable of the same name) and run again.',
    });
  }
  return config;
}

/** The validator's launch options, typed once, at the run's first need (see relaunchArgs). */
function onceRelaunch(config: AutoupdateConfig): () => Promise<LaunchArgs> {
  let args: Promise<LaunchArgs> | undefined;
  return () => (args ??= relaunchArgs(config));
}

async function cycle(ctx: Context, flags: UpdateFlags, interrupts: Interrupts | undefined): Promise<number> {
  const log = new UpdateLog(ctx, flags.json);
  let config: AutoupdateConfig;
  try {
    config = await loadUpdateConfig(ctx, flags);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    // A dry run touches nothing (§5 step 8), not even to record the error: the terminal shows it.
    if (!flags.dryRun && (await timerCouldRun(ctx, flags.config).catch(() => true))) {
      await recordConfigError(ctx, flags.config, error).catch(() => undefined);
      await (await import('./lazy-stages.js')).countConfigErrorRun(ctx, flags.config);
    }
    if (!flags.json) throw error;
    log.event({ event: 'result', outcome: 'invalid-config', reason: error.message, from: null, to: null });
    return EXIT_CODES['invalid-config'];
  }
  // A dry run writes no log file: its lines go to the terminal only.
  log.attach(flags.dryRun ? undefined : ctx.paths.log(config.namespace), config.logMaxBytes, config.secrets);
  for (const warning of config.warnings) log.warn(warning);

  let lock: HeldLock | undefined;
  try {
    // A dry run changes no mode: it reports what it found.
    const attempt = await takeLock(config.lockfile, ctx.env, { tighten: !flags.dryRun, privateDirs: [ctx.paths.autoupdateStateDir] });
    lock = attempt.lock;
    for (const change of attempt.tightened) log.warn(`made private: ${change} (a looser mode let other local users open the lock and hold it)`);
  } catch (error) {
    log.error(`cannot take the lock ${config.lockfile}: ${(error as Error).message}; nothing was touched`);
    return result(log, config, { outcome: 'failed', reason: 'lock' }, undefined, undefined, 1, false);
  }
  if (!lock) {
    // Names the holder; a dry run records and tells nothing (locked.ts).
    await (await import('./locked.js')).reportHeldLock({ ctx, config, log, dryRun: flags.dryRun });
    return result(log, config, { outcome: 'locked', reason: 'another update is running' }, undefined, undefined, EXIT_CODES.locked);
  }
  if (!flags.dryRun) clearLockWatch(lockWatchFile(ctx.paths.autoupdateStateDir, config.namespace));
  try {
    const { state, setAside } = readStateChecked(ctx.paths.state(config.namespace), ctx.paths.history(config.namespace), ctx.now(), { readOnly: flags.dryRun });
    const run = openRun({ ctx, config, relaunch: onceRelaunch(config), log, state, interrupts, force: flags.force });
    sayInterrupts(interrupts, log, state);
    try {
      const notices: PendingNotice[] = [];
      if (setAside) {
        const text = `the state file was unusable (${setAside.detail}); ${flags.dryRun ? 'a real run sets it aside and rebuilds it' : `set aside as ${setAside.copy} and rebuilt`}, ${setAside.recoveredQuarantine} quarantined commit(s) recovered from the history`;
        log.error(text);
        notices.push({ outcome: 'state-reset', reason: 'corrupt-state', summary: text });
      }
      // §5.5: the namespace against what the state says is deployed, before any release
      // (never in a dry run, which touches nothing).
      const converged = flags.dryRun ? undefined : await convergeFirst(goLive(run), flags);
      if (converged?.decision) return await record(goLive(run), converged.decision, converged.head, converged.head, notices);
      let observed: Observed;
      try {
        observed = await observeAndDecide(run, flags);
      } catch (error) {
        if (!(error instanceof OperationError)) throw error;
        log.error(error.message);
        observed = { plan: { kind: 'done', decision: { outcome: 'failed', reason: 'error' }, notes: [] } };
      }
      // Step 8: a dry run prints the plan and returns; nothing below it runs.
      if (flags.dryRun) return await printPlan(run, observed.plan);
      if (observed.badJournal) {
        const { text, ...bad } = observed.badJournal;
        state.badJournal = bad;
        delete state.journal;
        notices.push({ outcome: 'bad-journal', reason: 'bad-journal', summary: text });
      }
      return await applyAndRecord(run, observed.plan, notices, converged);
    } finally {
      run.close();
    }
  } finally {
    await lock.release().catch(() => undefined);
    log.close();
  }
}

interface Observed {
  plan: DecidedPlan;
  /** A journal that cannot be acted on: the real run sets it aside in the state. */
  badJournal?: BadJournal & { text: string };
}

/** Observe as much as the decision needs, then decide (pure). Writes nothing: a dry run runs all of it. */
async function observeAndDecide(run: Run, flags: UpdateFlags): Promise<Observed> {
  const { ctx, config, log, state } = run;
  const o = observer(run, { to: flags.to });
  const facts: Facts = { journal: await o.journal(state), quarantine: state.quarantine.map((q) => q.sha) };
  let badJournal: Observed['badJournal'];
  if (facts.journal.kind === 'invalid') {
    // Garbage, or commits this clone lacks: acting on it could only stop services and fail.
    const text = `the journal of an interrupted update cannot be acted on (${facts.journal.why}); ${flags.dryRun ? 'a real run sets it aside' : 'set aside in the state file (badJournal)'}, nothing was stopped; check pm2 list --namespace ${config.namespace}`;
    log.error(text);
    badJournal = { at: ctx.now().toISOString(), why: facts.journal.why, journal: facts.journal.raw, text };
    facts.journal = { kind: 'none' };
  }
  const commits = (): [string, string] =>
    facts.journal.kind === 'valid' ? [facts.journal.journal.from, facts.journal.journal.to] : [facts.head!, facts.target!];
  for (;;) {
    let plan = decide(facts, config, { force: flags.force }, ctx.now().getTime());
    if (plan.kind === 'swap') {
      // Step 8a, before the dry run prints: a dry run must not show a swap the real run
      // refuses. (Signature check: domain/signatures.ts.)
      const { checkSignatures } = await import('./lazy-stages.js');
      const unsigned = await checkSignatures({ ctx, config, log, from: plan.from, to: plan.to, git: run.git });
      if (unsigned) plan = { kind: 'done', decision: unsigned, from: plan.from, to: plan.to, notes: plan.notes };
    }
    if (plan.kind !== 'observe') {
      for (const note of plan.notes) log[note.level](note.text);
      return { plan, ...(badJournal ? { badJournal } : {}) };
    }
    if (plan.need === 'gates') facts.gates = await o.gates();
    // A recovery must not fail on its diff (the journal's commits exist): without it, setup steps are skipped as before.
    else if (plan.need === 'changes') Object.assign(facts, facts.journal.kind === 'valid' ? await o.changes(...commits()).catch(() => ({ changed: [] })) : await o.changes(...commits()));
    else if (plan.need === 'history') Object.assign(facts, await o.history(facts.head!, facts.target!));
    else if (plan.need === 'restart') facts.restart = await o.restart(facts.head!, facts.target!, state.restartWait);
    else if (plan.need === 'venvs') Object.assign(facts, await o.venvs(facts.journal.kind === 'valid' ? [] : commits().reverse()));
    else if (plan.need === 'processes') Object.assign(facts, await o.processes(flags.dryRun));
    else Object.assign(facts, await o[plan.need]());
  }
}

/** The dry run's end: the plan, in words and (with --json) as the value itself; the result says what a real run would do. */
async function printPlan(run: Run, plan: DecidedPlan): Promise<number> {
  const { log, config } = run;
  if (plan.kind === 'done') {
    log.event({ event: 'plan', plan: { kind: 'done', ...plan.decision, from: plan.from ?? null, to: plan.to ?? null } });
    return result(log, config, plan.decision, plan.from, plan.to, EXIT_CODES[plan.decision.outcome]);
  }
  for (const line of describeSteps(plan)) log.info(line);
  let relaunch: Record<string, unknown> | undefined;
  try {
    relaunch = relaunchView(await run.relaunch());
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    log.error(`the validator's launch options (from ${config.file}) are invalid: ${error.message}`);
  }
  log.event({ event: 'plan', plan: { ...plan, ...(relaunch ? { relaunch } : {}) } });
  if (plan.kind === 'recover') {
    const { journal } = plan;
    log.info(`the next real run would ${journal.rollbackFailed ? 'retry the failed rollback' : `recover the update interrupted in phase ${journal.phase}${journal.rollingBack ? ' of its rollback' : ''}`} (${short(journal.from)} -> ${short(journal.to)}); dry run, nothing touched`);
    return result(log, config, { outcome: 'would-recover', reason: journal.phase }, journal.from, journal.to, EXIT_CODES['would-recover']);
  }
  return result(log, config, { outcome: 'would-update' }, plan.from, plan.to, EXIT_CODES['would-update']);
}

/** The validator's typed launch options as the plan shows them: what is set, the OpenAI key never. */
function relaunchView(args: LaunchArgs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (key === 'openaiApiKey' || value === undefined || value === false || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
  }
  return out;
}

/** The real run past its plan: apply it, then record the outcome (state, history, metrics, webhook). */
async function applyAndRecord(base: Run, plan: DecidedPlan, notices: PendingNotice[], converged: Converged | undefined): Promise<number> {
  const run = goLive(base);
  const from = plan.kind === 'recover' ? plan.journal.from : plan.from;
  const to = plan.kind === 'recover' ? plan.journal.to : plan.to;
  let decision: RestartDecision;
  if (plan.kind === 'done') decision = plan.decision;
  else {
    try {
      decision = await (await import('./lazy-stages.js')).applyPlan(run, plan);
    } catch (error) {
      if (!(error instanceof OperationError)) throw error;
      run.log.error(error.message);
      decision = { outcome: 'failed', reason: 'error' };
    }
  }
  return record(run, keepDown(decision, converged), from, to, notices);
}

/** The record stage (state, history, metrics, webhook), then the result line. */
async function record(run: LiveRun, decision: RestartDecision, from: string | undefined, to: string | undefined, notices: PendingNotice[]): Promise<number> {
  let code = EXIT_CODES[decision.outcome];
  // Recorded before the result line: with --json the result is always the last line.
  const problem = await recordRun(run, { decision, from, to, at: run.ctx.now().toISOString(), extra: notices });
  if (problem) code = Math.max(code, 1);
  return result(run.log, run.config, decision, from, to, code);
}

function result(log: UpdateLog, config: AutoupdateConfig, decision: RestartDecision, from: string | undefined, to: string | undefined, code: number, summarise = true): number {
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
  const line = `result: ${decision.outcome} (${(summarise ? summary[decision.outcome] : undefined) ?? decision.reason ?? decision.outcome})`;
  if (code === 0) log.info(line);
  else log.error(line);
  log.event({ event: 'result', outcome: decision.outcome, ...(decision.reason ? { reason: decision.reason } : {}), from: from ?? null, to: to ?? null, ...(decision.downtimeMs !== undefined ? { downtimeMs: decision.downtimeMs } : {}) });
  return code;
}

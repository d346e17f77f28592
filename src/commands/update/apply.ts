import type { DecidedPlan } from './decide.js';
import { judgeGates } from './decide.js';
import type { DeployTimings } from './deploy.js';
import { resolveValidator } from './launch-hooks.js';
import { observer } from './observe.js';
import type { RestartDecision } from './outcome.js';
import { preflight } from './preflight.js';
import { recoverInterrupted } from './recover.js';
import type { LiveRun } from './run.js';
import { swap } from './swap.js';

const short = (sha: string) => sha.slice(0, 7);

/** The apply half: only here does anything get prepared, stopped or changed, and only what the plan says. */
export async function applyPlan(run: LiveRun, plan: Exclude<DecidedPlan, { kind: 'done' }>): Promise<RestartDecision> {
  // Once the critical section is entered (here, or in swap at the journal write) it
  // lasts through the record stage: the history and state of a rollback are written.
  if (plan.kind === 'recover') {
    run.interrupts?.critical(true);
    return recoverInterrupted(run, plan);
  }
  return prepareAndSwap(run, plan);
}

/**
 * The effectful half of a swap plan: prepare (adds venvs, stops nothing), preflight,
 * the gates once more right before the stop (preparing can take minutes and a round
 * may have started meanwhile), then the critical section.
 */
async function prepareAndSwap(run: LiveRun, plan: Extract<DecidedPlan, { kind: 'swap' }>): Promise<RestartDecision> {
  const { ctx, config, log } = run;
  const now = () => ctx.now().getTime();
  const timings: DeployTimings = { phases: {} };
  const { from, to } = plan;
  const { forward, rollback } = plan.steps;

  const prepareStart = now();
  try {
    const { prepareVenvs } = await import('./prepare.js');
    await prepareVenvs(run, plan.steps.venvs);
  } catch (error) {
    timings.phases.prepare = now() - prepareStart;
    log.error(`prepare: ${(error as Error).message}`);
    log.error('nothing was stopped; the services keep running at the current commit');
    return { outcome: 'failed', reason: 'prepare', timings };
  }
  timings.phases.prepare = now() - prepareStart;

  const preflightStart = now();
  const problems: string[] = [];
  const validator = forward.steps.find((step) => step.step === 'validator');
  try {
    if (validator?.step === 'validator') await resolveValidator(run, validator);
  } catch (error) {
    problems.push(`the validator's launch options (from ${config.file}) are invalid: ${(error as Error).message}`);
  }
  problems.push(...(await preflight(run, forward, plan.deploy)));
  timings.phases.preflight = now() - preflightStart;
  if (problems.length > 0) {
    for (const p of problems) log.error(`preflight: ${p}`);
    log.error('nothing was stopped; the services keep running at the current commit');
    return { outcome: 'failed', reason: 'preflight', timings };
  }

  if (!run.force) {
    const judged = judgeGates(await observer(run).gates(), config, from, to);
    for (const note of judged.notes) log[note.level](note.text);
    if (judged.decision) return judged.decision;
  }
  const signal = run.interrupts?.requested();
  if (signal) {
    log.warn(`received ${signal} before the stop; nothing was stopped`);
    return { outcome: 'failed', reason: 'interrupted', timings };
  }
  log.info(`updating ${short(from)} -> ${short(to)} (sandbox setup: ${plan.deploy.sandbox ? 'yes' : 'no'}, dependency refresh: ${plan.deploy.deps ? 'yes' : 'no'})`);
  const decision = await swap(run, plan, timings);
  if (Object.keys(forward.venvs).length > 0) {
    const { retainVenvs } = await import('./prepare.js');
    // Every namespace's processes: the venv root is shared (undefined: keep everything).
    const processes = decision.outcome === 'updated' || decision.outcome === 'rolled-back' ? await run.pm2.list().catch(() => undefined) : undefined;
    if (decision.outcome === 'updated') retainVenvs(run, forward.venvs, rollback.venvs, processes);
    else if (decision.outcome === 'rolled-back') retainVenvs(run, rollback.venvs, forward.venvs, processes);
  }
  return decision;
}

import type { UpdatePlan } from './decide.js';
import { judgeGates } from './decide.js';
import type { DeployTimings, SwapVenvs } from './deploy.js';
import { observer } from './observe.js';
import { preflight } from './preflight.js';
import type { RestartDecision, RunIo, Session } from './session.js';
import { swap } from './swap.js';

const short = (sha: string) => sha.slice(0, 7);

/**
 * The effectful half of a swap plan: prepare (adds venvs, stops nothing), preflight,
 * the gates once more right before the stop (preparing can take minutes and a round
 * may have started meanwhile), then the critical section.
 */
export async function prepareAndSwap(run: RunIo, s: Session, plan: Extract<UpdatePlan, { kind: 'swap' }>, flags: { force: boolean }): Promise<RestartDecision> {
  const { ctx, config, log } = run;
  const now = () => ctx.now().getTime();
  const timings: DeployTimings = { phases: {} };
  const { from, to } = plan;

  // (i13-signing: the signature check of the target goes here, before anything is prepared.)

  const venvs: { to: SwapVenvs; from: SwapVenvs } = { to: {}, from: {} };
  const prepareStart = now();
  try {
    const { prepareVenvs } = await import('./prepare.js');
    const prepared = await prepareVenvs(run, s, plan);
    Object.assign(venvs, prepared);
  } catch (error) {
    timings.phases.prepare = now() - prepareStart;
    log.error(`prepare: ${(error as Error).message}`);
    log.error('nothing was stopped; the services keep running at the current commit');
    return { outcome: 'failed', reason: 'prepare', timings };
  }
  timings.phases.prepare = now() - prepareStart;

  const preflightStart = now();
  let problems: string[];
  try {
    await s.hooks.resolve(venvs.to);
    problems = [];
  } catch (error) {
    problems = [`the validator's launch options (from ${config.file}) are invalid: ${(error as Error).message}`];
  }
  problems.push(...(await preflight({ ctx, config, git: s.io.git, pm2: s.io.pm2, venvDir: venvs.to.validator ?? s.io.venvDir }, to, plan.deploy)));
  timings.phases.preflight = now() - preflightStart;
  if (problems.length > 0) {
    for (const p of problems) log.error(`preflight: ${p}`);
    log.error('nothing was stopped; the services keep running at the current commit');
    return { outcome: 'failed', reason: 'preflight', timings };
  }

  if (!flags.force) {
    const judged = judgeGates(await observer(ctx, config).gates(), config, from, to);
    for (const note of judged.notes) log[note.level](note.text);
    if (judged.decision) return judged.decision;
  }
  const signal = run.interrupts?.requested();
  if (signal) {
    log.warn(`received ${signal} before the stop; nothing was stopped`);
    return { outcome: 'failed', reason: 'interrupted', timings };
  }
  log.info(`updating ${short(from)} -> ${short(to)} (sandbox setup: ${plan.deploy.sandbox ? 'yes' : 'no'}, dependency refresh: ${plan.deploy.deps ? 'yes' : 'no'})`);
  const decision = await swap(run, s, { from, to, deploy: plan.deploy, venvs, staleIndexLock: plan.staleIndexLock }, timings);
  if (Object.keys(venvs.to).length > 0) {
    const { retainVenvs } = await import('./prepare.js');
    // Every namespace's processes: the venv root is shared (undefined: keep everything).
    const processes = decision.outcome === 'updated' || decision.outcome === 'rolled-back' ? await s.io.pm2.list().catch(() => undefined) : undefined;
    if (decision.outcome === 'updated') retainVenvs(run, venvs.to, venvs.from, processes);
    else if (decision.outcome === 'rolled-back') retainVenvs(run, venvs.from, venvs.to, processes);
  }
  return decision;
}

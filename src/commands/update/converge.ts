import fs from 'node:fs';
import path from 'node:path';
import { endProcesses, findOrphans } from '../../adapters/pm2-orphans.js';
import { pm2DaemonLink, pm2PackageRoot } from '../../adapters/pm2-daemon.js';
import { pm2Home } from '../../adapters/pm2-home.js';
import { toProcesses, type JlistEntry, type Pm2Process } from '../../adapters/pm2.js';
import { pm2Processes } from '../../domain/pm2-processes.js';
import { failedAgain } from '../../core/retry.js';
import { liveDaemonPid } from '../../domain/orphans.js';
import { Budget, STAGE_MS } from './budget.js';
import { expectedNames, type Converged } from './converge-check.js';
import { planConverge, type ConvergePlan } from './converge-plan.js';
import { checkHealth, deployCommit, type DeployTimings, type SwapVenvs } from './deploy.js';
import { fallbackValidatorVenv } from './observe.js';
import type { RestartDecision } from './outcome.js';
import { deployTarget } from './plan.js';
import type { LiveRun, Run } from './run.js';

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/** The namespace as the daemon lists it, over its socket; never starts a daemon (a missing one is the finding). */
async function observe(run: Run): Promise<{ daemon: 'alive' | 'gone'; daemonPid?: number; processes: Pm2Process[] } | { unknown: string }> {
  const { ctx, config } = run;
  const daemonPid = liveDaemonPid(ctx);
  if (daemonPid === undefined) return { daemon: 'gone', processes: [] };
  const bin = ctx.env.PM2_BIN || 'pm2';
  const link = pm2DaemonLink(ctx, bin);
  try {
    const d = await link.get();
    // Never `pm2 jlist` here unless the socket cannot be used at all (no pm2 package to
    // speak its protocol): a CLI call spawns a daemon if this one dies meanwhile.
    if (d) return { daemon: 'alive', daemonPid, processes: toProcesses(await d.call<JlistEntry[]>('getMonitorData', {})).filter((p) => p.namespace === config.namespace) };
    if (pm2PackageRoot(bin, ctx.env.PATH, ctx.cwd) !== undefined) return { unknown: link.why() ?? 'no answer' };
    const listed = await pm2Processes(ctx, config.namespace);
    return listed.problem ? { unknown: listed.problem } : { daemon: 'alive', daemonPid, processes: listed.procs };
  } catch (error) {
    return { unknown: (error as Error).message };
  } finally {
    link.close();
  }
}

/** The prepared venvs the state says the deployed commit runs with, those that still exist (§5.4). */
function deployedVenvs(run: Run): SwapVenvs {
  const current = run.state.venvs?.current ?? {};
  const out: SwapVenvs = {};
  for (const kind of ['validator', 'api'] as const) {
    const dir = current[kind];
    if (dir && fs.existsSync(path.join(dir, '.alphacore-complete'))) out[kind] = dir;
  }
  return out;
}

/**
 * §5.5's check and its apply: reads the namespace from PM2's daemon, ends the orphans
 * of a dead daemon, and starts what is missing or errored the way the swap does (API
 * first, then the validator; prepared venvs; health-checked), at the commit the clone
 * is at. No round gate: a validator that is down runs no round.
 */
export async function converge(run: LiveRun, flags: { force: boolean }): Promise<Converged> {
  const { ctx, config, log, state } = run;
  const seen = await observe(run);
  if ('unknown' in seen) {
    log.warn(`cannot read the namespace ${config.namespace} from PM2 (${seen.unknown}); not checked this run`);
    return {};
  }
  const orphans = findOrphans(pm2Home(ctx), config.namespace, seen.daemonPid);
  const plan = planConverge({
    daemon: seen.daemon,
    processes: seen.processes,
    expected: expectedNames(config),
    orphans,
    retry: state.restore,
    force: flags.force,
    nowMs: ctx.now().getTime(),
  });
  for (const note of plan.notes) log[note.level](note.text);
  if (plan.kind === 'wait') return { down: plan.why };
  if (plan.kind === 'ok') {
    await endOrphans(run, plan.orphans);
    if (state.restore) {
      log.info('the namespace runs again: the failing restore is over');
      delete state.restore;
    }
    return {};
  }
  return restore(run, plan);
}

async function endOrphans(run: Run, pids: number[]): Promise<void> {
  if (pids.length === 0) return;
  const left = await endProcesses(pids, () => run.ctx.now().getTime());
  if (left.length > 0) run.log.error(`process(es) ${left.join(', ')} survived SIGKILL`);
}

async function restore(run: LiveRun, plan: Extract<ConvergePlan, { kind: 'restore' }>): Promise<Converged> {
  const { ctx, config, log, state } = run;
  const timings: DeployTimings = { phases: {} };
  const startedAt = ctx.now().getTime();
  let head: string | undefined;
  try {
    head = await run.git.headSha();
    const deployed = state.metrics?.deployed;
    const at = deployed && deployed !== head ? ` (the state recorded ${short(deployed)} as deployed; the clone is what runs)` : '';
    log.warn(`restoring the namespace ${config.namespace} at ${short(head)}${at}: ${plan.why}`);
    // Orphans first, even when the swap's start would end them: a restore of the API
    // alone must not leave an orphaned validator beside the running one.
    await endOrphans(run, plan.orphans);
    const budget = new Budget(() => ctx.now().getTime(), STAGE_MS.swap, 'restore');
    // The swap's steps for the commit the clone is at, less the reset and the setup
    // (already done when it was deployed), less the validator when only the API is down.
    const full = deployTarget(config, head, { sandbox: false, deps: false, api: plan.start.api }, deployedVenvs(run), fallbackValidatorVenv(config.given.validatorVenvDir, config.repoDir, state));
    const steps = full.steps.filter((step) => step.step !== 'reset' && step.step !== 'deps' && step.step !== 'health' && (plan.start.validator || step.step !== 'validator'));
    await deployCommit(run, { ...full, steps }, timings, { budget, onPhase: async () => undefined });
    // The health module's judgement, as after a swap: what was started (the API too)
    // online, ours and stable for HEALTH_STABLE; a validator left running counts only
    // the restarts it makes from now.
    const health = full.steps.find((step) => step.step === 'health');
    if (health?.step === 'health') {
      const running = plan.start.validator ? [] : (await run.pm2.list(config.namespace)).filter((p) => p.name === health.process);
      const baselineRestarts = Object.fromEntries(running.map((p) => [p.name, p.restarts]));
      await checkHealth(run, health, timings, { ...(plan.start.api && health.api ? { api: health.api } : {}), budget, baselineRestarts, interrupted: () => run.interrupts?.requested() });
    }
    timings.phases.restore = ctx.now().getTime() - startedAt;
    delete state.restore;
    await run.pm2.save().catch((error: Error) => log.warn(`${error.message}; run pm2 save so that a reboot brings the validator back`));
    const what = [plan.start.api ? config.validationProcessName : undefined, plan.start.validator ? config.validatorProcessName : undefined].filter(Boolean).join(' and ');
    log.info(`restored ${what} at ${short(head)}`);
    return { head, decision: { outcome: 'restored', reason: plan.reason, detail: plan.why, changed: true, timings } };
  } catch (error) {
    const message = (error as Error).message;
    const notified = Boolean(state.restore?.notified);
    state.restore = { ...failedAgain(state.restore, ctx.now().getTime(), message), notified: true };
    log.error(`!!! RESTORE FAILED: the namespace ${config.namespace} is DOWN (${plan.why}) !!!`);
    log.error(`restore at ${short(head)} failed: ${message}`);
    log.error(
      `the next run retries it${state.restore.attempts >= 3 ? ` at ${state.restore.nextRetryAt}` : ''} (the next three runs at once, then after 4, 8 ... 30 min); to retry now: alphacore update --config ${config.file} --force`,
    );
    const decision: RestartDecision = { outcome: 'failed', reason: 'restore', detail: message, changed: true, timings, quiet: notified };
    return { head, decision };
  }
}

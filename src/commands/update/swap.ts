import fs from 'node:fs';
import type { UpdateLog } from '../../core/log.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Journal, UpdateState } from '../../core/state.js';
import { Budget, STAGE_MS } from './budget.js';
import { rollbackRetryDelayMs, type DecidedPlan } from './decide.js';
import { announceStep, DeployError, deployCommit, type DeployTimings } from './deploy.js';
import type { RestartDecision } from './outcome.js';
import { countHostFault, faultFacts, judgeFault, type HostFault } from './fault.js';
import { rollBack, settleDaemon, type RollbackResult } from './rollback.js';
import { liveDaemonPid } from '../../domain/orphans.js';
import type { LiveRun, Run } from './run.js';

type SwapPlan = Extract<DecidedPlan, { kind: 'swap' }>;

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

export function quarantine(state: UpdateState, sha: string, at: string, reason: string): void {
  if (!state.quarantine.some((q) => q.sha === sha)) state.quarantine.push({ sha, at, reason });
}

/**
 * The critical section (steps 10-14), executed from the plan: journal, stop, then the
 * forward target's steps (reset, setup, API, validator, health). The rollback (the
 * plan's rollback target) is armed before the first stop and is one guarded unit
 * (rollback.ts); a signal received meanwhile ends the forward path at the next step
 * and rolls back. Preflight and the last gate check happened just before this.
 */
export async function swap(run: LiveRun, plan: SwapPlan, timings: DeployTimings): Promise<RestartDecision> {
  const { ctx, config, log, state } = run;
  const now = () => ctx.now().getTime();
  const { from, to } = plan;
  const { forward, rollback } = plan.steps;
  if (plan.staleIndexLock) fs.rmSync(plan.staleIndexLock, { force: true });

  await sayHowPm2IsReached(run);
  // From here to the end of the rollback a signal is noted, never obeyed mid-step.
  run.interrupts?.critical(true);
  // Step 10: the journal first, so a run killed from here on is recovered by the next.
  const journal: Journal = { from, to, phase: 'stop', startedAt: ctx.now().toISOString(), pid: process.pid, venvs: { from: { ...rollback.venvs }, to: { ...forward.venvs } } };
  state.journal = journal;
  const saved = await run.store.trySave();
  if (saved) {
    delete state.journal;
    log.error(`${saved.message}. Nothing was stopped; the services keep running at ${short(from)}.`);
    return { outcome: 'failed', reason: 'state-write', timings };
  }
  const budget = new Budget(now, STAGE_MS.swap, 'swap');
  const onPhase = async (phase: string) => {
    journal.phase = phase;
    await run.store.save();
  };
  const stoppedAt = now();
  // Whose fault a failure is (§5.1) asks whether this daemon survived the swap.
  const daemonBefore = liveDaemonPid(ctx);
  let failure: DeployError | undefined;
  try {
    try {
      await onPhase('stop');
    } catch (error) {
      throw new DeployError('stop', 'state-write', (error as Error).message);
    }
    announceStep(run, plan.steps.stop);
    const stopped = await run.pm2.stopNamespace(config.namespace);
    log.info(`stopped ${stopped.length ? stopped.join(', ') : 'nothing (no process in the namespace)'}`);
    await deployCommit(run, forward, timings, { budget, onPhase });
  } catch (error) {
    failure = error instanceof DeployError ? error : new DeployError(journal.phase as DeployError['phase'], 'failed', (error as Error).message);
  }
  if (!failure) {
    delete state.journal;
    // A quarantined release retried with --force that came up healthy is quarantined no more.
    if (state.quarantine.some((q) => q.sha === to)) {
      state.quarantine = state.quarantine.filter((q) => q.sha !== to);
      log.info(`${short(to)} is healthy now: taken out of the quarantine`);
    }
    if (state.hostFaults?.sha === to) delete state.hostFaults;
    const problem = await run.store.trySave();
    if (problem) log.error(`${problem.message}; the update itself succeeded`);
    await savePm2List(run);
    return { outcome: 'updated', changed: true, timings, downtimeMs: downtime(stoppedAt, timings) };
  }
  log.error(`update to ${short(to)} failed in phase ${failure.phase}: ${failure.message}`);
  // Judged before the rollback starts anything (its start spawns a new PM2 daemon).
  const hostFault = judgeFault(faultFacts(run, daemonBefore, failure));
  if (hostFault) journal.hostFault = hostFault.reason;
  // The daemon the link talks to died or is being killed (pm2 kill): the rollback asks the one the scripts start.
  // pm2 kill deletes the processes first, then ends its daemon: a rollback started in
  // between would start the services on a daemon about to die.
  if (hostFault?.reason === 'pm2-daemon-died' || hostFault?.reason === 'pm2-processes-gone') {
    run.daemon.drop(hostFault.detail);
    await settleDaemon(run);
  }
  const result = await rollBack(run, journal, rollback, timings);
  const interrupted = failure.cause === 'interrupted';
  // A release that failed on its own is quarantined; one whose swap a signal cut short is
  // not at fault, nor one that failed through the machine (judged above: a dead daemon, a
  // full disk, PM2 silent, another process on the API's port), three times at most.
  const quarantined = !interrupted && blame(run, to, `${failure.phase} failed`, hostFault);
  return finishRollback(run, journal, result, {
    reason: interrupted ? 'interrupted' : (hostFault?.reason ?? `${failure.phase}-failed`),
    ...(hostFault?.reason === 'api-port-taken' ? { detail: failure.message } : {}),
    quarantined,
    downtimeMs: downtime(stoppedAt, timings),
    timings,
  });
}

/**
 * Quarantines a release that failed on its own (§5.1): under a live PM2 daemon with disk
 * to spare. A machine fault is not its fault: it is tried again by the next runs, at
 * most three times, then quarantined as `unstable-host`. Returns whether it was quarantined.
 */
export function blame(run: Run, sha: string, why: string, fault: HostFault | undefined): boolean {
  const { ctx, log, state } = run;
  const at = ctx.now().toISOString();
  if (!fault) {
    quarantine(state, sha, at, why);
    return true;
  }
  const { count, exhausted } = countHostFault(state, sha, at);
  if (exhausted) {
    log.error(`${fault.detail}: the machine's fault, not the release's, but ${short(sha)} has now failed ${count} times that way; quarantined (unstable-host)`);
    quarantine(state, sha, at, 'unstable-host');
    return true;
  }
  log.warn(`${fault.detail}: the machine's fault, not the release's; the next run tries ${short(sha)} again (${count} of 3)`);
  return false;
}

/** The outcome of a rollback (forward or in recovery): journal cleared, or kept for a retry with backoff. */
export async function finishRollback(
  run: LiveRun,
  journal: Journal,
  result: RollbackResult,
  what: { reason: string; detail?: string; quarantined: boolean; downtimeMs?: number; timings: DeployTimings },
): Promise<RestartDecision> {
  const { ctx, config, log, state } = run;
  if (result.ok) {
    delete state.journal;
    const problem = await run.store.trySave();
    if (problem) log.error(`${problem.message}; the rollback itself succeeded (the next run may roll back once more)`);
    await savePm2List(run);
    const tail = what.quarantined ? `; ${short(journal.to)} is quarantined until ${config.remote}/${config.branch} moves (or update --force)` : '';
    log.error(`rolled back: the services run at ${short(journal.from)} again${tail}`);
    return { outcome: 'rolled-back', reason: what.reason, ...(what.detail ? { detail: what.detail } : {}), changed: true, timings: what.timings, downtimeMs: what.downtimeMs, quarantined: what.quarantined };
  }
  const attempts = (journal.attempts ?? 0) + 1;
  const alreadyNotified = Boolean(journal.notified);
  journal.rollbackFailed = true;
  journal.attempts = attempts;
  journal.nextRetryAt = new Date(ctx.now().getTime() + rollbackRetryDelayMs(attempts)).toISOString();
  journal.notified = true;
  state.journal = journal;
  const problem = await run.store.trySave();
  loudFailure(log, config, journal, result, problem?.message);
  return { outcome: 'failed', reason: 'rollback-failed', ...(what.detail ? { detail: what.detail } : {}), changed: true, timings: what.timings, quarantined: what.quarantined, quiet: alreadyNotified };
}

/** Whether the swap talks to PM2's daemon over its socket or through the CLI, and a version skew between them. */
async function sayHowPm2IsReached(run: Run): Promise<void> {
  const d = await run.daemon.get();
  if (!d) return run.log.info(`PM2 through its CLI (${run.daemon.why() ?? 'no daemon connection'})`);
  run.log.info(`PM2 through its daemon's socket (pm2 ${d.daemonVersion})`);
  if (d.daemonVersion !== d.clientVersion) {
    run.log.warn(`PM2's daemon runs ${d.daemonVersion} but the pm2 package on PATH is ${d.clientVersion}; run pm2 update when no round runs`);
  }
}

/**
 * The process list a reboot restores, written once the services run healthy at a known
 * commit (after the update or its rollback), off the downtime. A failed save does not
 * undo a good update: it is said, with the fix.
 */
async function savePm2List(run: Run): Promise<void> {
  try {
    await run.pm2.save();
  } catch (error) {
    run.log.warn(`${(error as Error).message}; run pm2 save so that a reboot brings back the validator that runs now`);
  }
}

function downtime(stoppedAt: number, timings: DeployTimings): number | undefined {
  return timings.validatorOnlineAt === undefined ? undefined : timings.validatorOnlineAt - stoppedAt;
}

function loudFailure(log: UpdateLog, config: AutoupdateConfig, journal: Journal, result: RollbackResult, stateProblem: string | undefined): void {
  log.error('!!! ROLLBACK FAILED: the validator may be DOWN !!!');
  log.error(`rollback to ${short(journal.from)} failed: ${result.problems.join('; ')}`);
  log.error(`the clone is at ${short(result.head)}; check: pm2 list --namespace ${config.namespace}; pm2 logs ${config.validatorProcessName}`);
  if (stateProblem) log.error(`${stateProblem}: the next run cannot know this rollback failed`);
  log.error(`the next run retries the rollback at ${journal.nextRetryAt} (the next three runs retry at once, then after 4, 8 ... 30 min); to retry now: alphacore update --config ${config.file} --force`);
}

import { checkHealth, type DeployTimings } from './deploy.js';
import type { DecidedPlan } from './decide.js';
import type { RestartDecision } from './outcome.js';
import { rollBack } from './rollback.js';
import type { LiveRun } from './run.js';
import { blame, finishRollback, quarantine } from './swap.js';

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/**
 * Finishes or rolls back a run that was killed mid-swap (§5.1), before anything else,
 * by the plan's recovery steps. The journal was validated by observe (its commits
 * exist). The killed run held the overlap lock, which we now hold: it is dead.
 */
export async function recoverInterrupted(run: LiveRun, plan: Extract<DecidedPlan, { kind: 'recover' }>): Promise<RestartDecision> {
  const { ctx, config, log, state } = run;
  const { journal, finish, rollback } = plan.steps;
  const what = journal.rollbackFailed
    ? `failed to roll back (in phase ${journal.phase}, ${journal.attempts ?? 1} attempt(s)); retrying the rollback first`
    : `was interrupted in phase ${journal.phase}${journal.rollingBack ? ' of its rollback' : ''}; recovering first`;
  log.warn(`a previous update ${short(journal.from)} -> ${short(journal.to)} (pid ${journal.pid}, started ${journal.startedAt}) ${what}`);
  const timings: DeployTimings = { phases: {} };
  const killedIn = journal.phase;
  const head = await run.git.headSha().catch(() => '');
  if (finish && head === journal.to) {
    // It got as far as the health check: finish it by checking health again.
    const procs = await run.pm2.list(config.namespace).catch(() => []);
    const validator = procs.find((p) => p.name === config.validatorProcessName);
    const api = finish.api ? procs.find((p) => p.name === finish.api!.process) : undefined;
    if (validator?.status === 'online' && (!finish.api || api?.status === 'online')) {
      try {
        // Both services, as the killed run would have checked them (§5.6).
        const baselineRestarts = { [finish.process]: validator.restarts, ...(api ? { [api.name]: api.restarts } : {}) };
        // A signal ends the wait as in the swap: the rollback below then runs.
        await checkHealth(run, finish, timings, { ...(finish.api ? { api: finish.api } : {}), baselineRestarts, interrupted: () => run.interrupts?.requested() });
        delete state.journal;
        const problem = await run.store.trySave();
        if (problem) log.error(problem.message);
        log.info(`finished the interrupted update: ${short(journal.to)} is healthy`);
        return { outcome: 'updated', reason: 'recovered', changed: true, timings };
      } catch {
        // fall through to the rollback
      }
    }
  }
  // A target whose rollback was under way had already failed; a plain interruption
  // (power loss, kill) is not the release's fault and it may be tried again.
  // (Unless the swap had judged its failure the machine's: then nothing is quarantined.)
  const failedTarget = Boolean(journal.rollingBack || journal.rollbackFailed) && !journal.hostFault;
  const result = await rollBack(run, journal, rollback, timings);
  if (failedTarget) quarantine(state, journal.to, ctx.now().toISOString(), 'failed (its rollback was interrupted)');
  // The run was killed before its release was judged: the machine's fault, tried again at most three times.
  const quarantined = failedTarget || (!journal.hostFault && !journal.rollingBack && !journal.rollbackFailed && blame(run, journal.to, 'killed', { reason: 'run-killed', detail: `the update run (pid ${journal.pid}) was killed in phase ${killedIn}` }));
  if (result.ok) log.warn(`recovered: the services run at ${short(journal.from)} again`);
  return finishRollback(run, journal, result, {
    reason: journal.rollbackFailed ? 'rollback-retried' : 'interrupted',
    quarantined,
    timings,
  });
}

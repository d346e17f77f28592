import fs from 'node:fs';
import { gitProcessesIn } from '../../adapters/git-processes.js';
import type { Journal } from '../../core/state.js';
import { Budget, STAGE_MS } from './budget.js';
import { DeployError, deployCommit, type DeployTimings, type SwapVenvs } from './deploy.js';
import type { DeployPlan } from './deploy-plan.js';
import type { RunIo, Session } from './session.js';

export interface RollbackResult {
  ok: boolean;
  /** What went wrong, in order; empty when ok. */
  problems: string[];
  /** The clone's HEAD after the rollback (what it is checked against). */
  head?: string;
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/**
 * The rollback, one guarded unit (DESIGN.md §5.1): armed before the first stop, it
 * brings the namespace back at `journal.from`. Every step is guarded on its own, and
 * the restart of the services runs whatever failed before it: a state write on a full
 * disk, a reset against a held index.lock. It never throws and ignores signals (it is
 * what a signal asks for). Success means the clone's HEAD is `from` and the services
 * came up healthy; anything else is a failed rollback the next run retries.
 */
export async function rollBack(run: RunIo, s: Session, journal: Journal, plan: DeployPlan, timings: DeployTimings, venvs: SwapVenvs = {}): Promise<RollbackResult> {
  const { log, config, ctx } = run;
  const problems: string[] = [];
  const guard = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      const phase = error instanceof DeployError ? ` (${error.phase})` : '';
      problems.push(`${what}${phase}: ${(error as Error).message}`);
      log.error(`rollback: ${what} failed: ${(error as Error).message}`);
    }
  };
  log.warn(`rolling back to ${short(journal.from)}`);
  journal.rollingBack = true;
  const saved = await s.save();
  if (saved) {
    problems.push(saved);
    log.error(`rollback: ${saved}; rolling back anyway`);
  }
  await guard('stop', () => s.io.pm2.stopNamespace(config.namespace));
  // A kill during `git reset` leaves git's index lock behind. It is removed only when no
  // git process runs in the clone: a live git's lock is not ours to break.
  const indexLock = `${config.repoDir}/.git/index.lock`;
  if (fs.existsSync(indexLock)) {
    const holders = gitProcessesIn(config.repoDir);
    if (holders.length === 0) {
      log.warn(`removing ${indexLock} (no git process runs in the clone)`);
      await guard('remove index.lock', async () => fs.rmSync(indexLock, { force: true }));
    } else {
      log.error(`${indexLock} is held by git (pid ${holders.join(', ')}); not removing it, the reset will fail`);
    }
  }
  const budget = new Budget(() => ctx.now().getTime(), STAGE_MS.rollback, 'rollback');
  // deployCommit is the forward path; here each of its failures is collected and the
  // services are started regardless, from whatever the clone holds.
  const onPhase = s.io.onPhase;
  const io = {
    ...s.io,
    onPhase: async (phase: string) => {
      try {
        await onPhase(phase);
      } catch (error) {
        if (!problems.some((p) => p.startsWith('cannot write the state'))) problems.push((error as Error).message);
      }
    },
  };
  const onApiFailure = (message: string) => {
    problems.push(`restart (api): ${message}`);
    log.error(`rollback: the Validation API did not come up (${message}); starting the validator anyway`);
  };
  const onResetFailure = (message: string) => {
    problems.push(`reset: ${message}`);
    log.error(`rollback: reset to ${short(journal.from)} failed (${message}); starting the services from the clone as it is`);
  };
  await guard('restart', () => deployCommit(io, journal.from, plan, timings, { budget, venvs, ignoreInterrupts: true, onApiFailure, onResetFailure }));
  const head = await s.io.git.headSha().catch(() => undefined);
  if (head !== journal.from && !problems.some((p) => p.startsWith('reset'))) problems.push(`the clone is at ${short(head)}, not ${short(journal.from)}`);
  // The services are what matters: a state that could not be written is said, not fatal.
  const ok = head === journal.from && problems.every((p) => p.startsWith('cannot write the state'));
  return { ok, problems, head };
}

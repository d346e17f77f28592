import fs from 'node:fs';
import { gitProcessesIn } from '../../adapters/git-processes.js';
import { exitedWithin } from '../../adapters/pm2-orphans.js';
import { liveDaemonPid } from '../../domain/orphans.js';
import type { Journal } from '../../core/state.js';
import { Budget, STAGE_MS } from './budget.js';
import { DeployError, deployCommit, type DeployTimings } from './deploy.js';
import type { DeployTarget } from './plan.js';
import type { LiveRun, Run } from './run.js';

/** What went wrong in a rollback, by kind: only `state-write` leaves it a success (the services are what matters). */
export type RollbackFault = 'state-write' | 'stop' | 'index-lock' | 'reset' | 'api' | 'restart' | 'elsewhere';

export interface RollbackResult {
  ok: boolean;
  /** What went wrong, in order, in words; empty when ok. */
  problems: string[];
  /** The same, by kind. */
  faults: RollbackFault[];
  /** The clone's HEAD after the rollback (what it is checked against). */
  head?: string;
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/**
 * The rollback, one guarded unit (DESIGN.md §5.1): armed before the first stop, it
 * brings the namespace back at `journal.from` by the plan's rollback target. Every step
 * is guarded on its own, and the restart of the services runs whatever failed before
 * it: a state write on a full disk, a reset against a held index.lock. It never throws
 * and ignores signals (it is what a signal asks for). Success means the clone's HEAD is
 * `from` and the services came up healthy; anything else is a failed rollback the next
 * run retries.
 */
export async function rollBack(run: LiveRun, journal: Journal, target: DeployTarget, timings: DeployTimings): Promise<RollbackResult> {
  const { log, config, ctx } = run;
  const problems: string[] = [];
  const faults: RollbackFault[] = [];
  const fault = (kind: RollbackFault, text: string) => {
    faults.push(kind);
    problems.push(text);
  };
  const guard = async (kind: RollbackFault, what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      const phase = error instanceof DeployError ? ` (${error.phase})` : '';
      fault(kind, `${what}${phase}: ${(error as Error).message}`);
      log.error(`rollback: ${what} failed: ${(error as Error).message}`);
    }
  };
  log.warn(`rolling back to ${short(journal.from)}`);
  journal.rollingBack = true;
  const saved = await run.store.trySave();
  if (saved) {
    fault('state-write', saved.message);
    log.error(`rollback: ${saved.message}; rolling back anyway`);
  }
  await guard('stop', 'stop', () => run.pm2.stopNamespace(config.namespace));
  // A kill during `git reset` leaves git's index lock behind. It is removed only when no
  // git process runs in the clone: a live git's lock is not ours to break.
  const indexLock = `${config.repoDir}/.git/index.lock`;
  if (fs.existsSync(indexLock)) {
    const holders = gitProcessesIn(config.repoDir);
    if (holders.length === 0) {
      log.warn(`removing ${indexLock} (no git process runs in the clone)`);
      await guard('index-lock', 'remove index.lock', async () => fs.rmSync(indexLock, { force: true }));
    } else {
      log.error(`${indexLock} is held by git (pid ${holders.join(', ')}); not removing it, the reset will fail`);
    }
  }
  const budget = new Budget(() => ctx.now().getTime(), STAGE_MS.rollback, 'rollback');
  // deployCommit is the forward path; here each of its failures is collected and the
  // services are started regardless, from whatever the clone holds.
  const onPhase = async (phase: string) => {
    if (!run.state.journal) return;
    run.state.journal.phase = phase;
    const error = await run.store.trySave();
    if (error && !faults.includes('state-write')) fault('state-write', error.message);
  };
  // PM2 dropping what the restart started, or going silent, is the machine (a pm2 kill
  // still finishing), not the previous commit: the restart runs once more on a settled daemon.
  let pm2Changed = false;
  const pm2Fault = (error: unknown) => error instanceof DeployError && (error.cause === 'pm2-vanished' || error.cause === 'pm2-silent');
  const tolerate = (phase: 'reset' | 'api', error: DeployError) => {
    if (pm2Fault(error)) pm2Changed = true;
    if (phase === 'reset') {
      fault('reset', `reset: ${error.message}`);
      log.error(`rollback: reset to ${short(target.commit)} failed (${error.message}); starting the services from the clone as it is`);
    } else {
      fault('api', `restart (api): ${error.message}`);
      log.error(`rollback: the Validation API did not come up (${error.message}); starting the validator anyway`);
    }
  };
  const restart = () => deployCommit(run, target, timings, { budget, onPhase, rollback: { tolerate } });
  const before = faults.length;
  await guard('restart', 'restart', async () => {
    try {
      await restart();
    } catch (error) {
      if (!pm2Fault(error)) throw error;
      pm2Changed = true;
    }
    if (!pm2Changed) return;
    log.warn('rollback: PM2 dropped or lost what the restart started (a pm2 kill finishing?): starting the services once more');
    run.daemon.drop('PM2 changed under the rollback');
    await settleDaemon(run);
    // The second attempt is what counts: the first one's faults are in the log.
    faults.splice(before);
    problems.splice(before);
    pm2Changed = false;
    await restart();
  });
  const head = await run.git.headSha().catch(() => undefined);
  if (head !== journal.from && !faults.includes('reset')) fault('elsewhere', `the clone is at ${short(head)}, not ${short(journal.from)}`);
  // The services are what matters: a state that could not be written is said, not fatal.
  const ok = head === journal.from && faults.every((f) => f === 'state-write');
  return { ok, problems, faults, head };
}

/** How long a rollback waits for a PM2 daemon that lost its processes to exit (pm2 kill). */
export const DAEMON_SETTLE_MS = 5000;

/**
 * Waits for the live PM2 daemon to exit when it is being killed: `pm2 kill` deletes every
 * process first and ends the daemon only afterwards (seconds later with slow-to-stop
 * processes), so a start in between lands on a daemon about to die. A daemon that stays
 * (pm2 delete) is used after DAEMON_SETTLE_MS.
 */
export async function settleDaemon(run: Run): Promise<void> {
  const pid = liveDaemonPid(run.ctx);
  if (pid === undefined) return;
  const exited = await exitedWithin([pid], DAEMON_SETTLE_MS);
  run.log.info(exited ? `the PM2 daemon (pid ${pid}) exited (pm2 kill): the services start on a new one` : `the PM2 daemon (pid ${pid}) is still running after ${DAEMON_SETTLE_MS / 1000}s: the services start on it`);
}

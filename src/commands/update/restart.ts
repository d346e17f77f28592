import fs from 'node:fs';
import path from 'node:path';
import { openGit, type Git } from '../../adapters/git.js';
import { openPm2, type Pm2 } from '../../adapters/pm2.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { UpdateLog } from '../../core/log.js';
import { writeState, type Journal, type UpdateState } from '../../core/state.js';
import type { Decision } from './decide.js';
import { checkValidatorHealth, DeployError, deployCommit, type DeployIo, type DeployTimings } from './deploy.js';
import { planDeploy } from './deploy-plan.js';
import { launchHooks } from './launch-hooks.js';
import { preflight } from './preflight.js';

export interface RestartInput {
  ctx: Context;
  config: AutoupdateConfig;
  log: UpdateLog;
  state: UpdateState;
  from: string;
  to: string;
}

/** A decision with what the history line records about the restart. */
export type RestartDecision = Decision & {
  /** true when services were stopped or the clone moved: the run goes into the history. */
  changed?: boolean;
  timings?: DeployTimings;
  downtimeMs?: number;
};

const short = (sha: string) => sha.slice(0, 7);

interface Session {
  input: Omit<RestartInput, 'from' | 'to'>;
  git: Git;
  pm2: Pm2;
  io: DeployIo;
  stateFile: string;
}

/** Opens git, PM2 and the launch code for one restart; `problem` when the launch flags are invalid. */
async function openSession(input: Omit<RestartInput, 'from' | 'to'>): Promise<{ session: Session; problem?: string }> {
  const { ctx, config } = input;
  const git = openGit(config.repoDir, ctx.env);
  const pm2 = openPm2(ctx);
  // The launch code's own report lines become updater log lines (and JSON lines with
  // --json), never raw text in the middle of them.
  const toLog = (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) input.log.info(line);
  };
  const hooks = launchHooks({ ...ctx, stdout: toLog, stderr: toLog }, config);
  const stateFile = ctx.paths.state(config.namespace);
  let venvDir = config.values.VALIDATOR_VENV_DIR || path.join(config.repoDir, 'venv');
  let problem: string | undefined;
  try {
    venvDir = (await hooks.resolve()).venvDir;
  } catch (error) {
    problem = `the validator's launch options (from ${config.file}) are invalid: ${(error as Error).message}`;
  }
  const session: Session = {
    input,
    git,
    pm2,
    stateFile,
    io: {
      ctx,
      config,
      log: input.log,
      git,
      pm2,
      relaunch: hooks.relaunch,
      venvDir,
      onPhase: async (phase) => {
        if (!input.state.journal) return;
        input.state.journal.phase = phase;
        await writeState(stateFile, input.state);
      },
    },
  };
  return { session, problem };
}

function quarantine(state: UpdateState, sha: string, at: string, reason: string): void {
  if (!state.quarantine.some((q) => q.sha === sha)) state.quarantine.push({ sha, at, reason });
}

/**
 * Stops the namespace and brings it back at `from`, the last commit known good
 * (§5.1). Returns undefined on success, else why it failed.
 */
async function rollBack(s: Session, journal: Journal, plan: ReturnType<typeof planDeploy>, timings: DeployTimings): Promise<string | undefined> {
  const { log, config } = s.input;
  journal.rollingBack = true;
  await writeState(s.stateFile, s.input.state);
  log.warn(`rolling back to ${short(journal.from)}`);
  try {
    await s.pm2.stopNamespace(config.namespace);
    await deployCommit(s.io, journal.from, plan, timings);
    return undefined;
  } catch (error) {
    const phase = error instanceof DeployError ? ` (${error.phase})` : '';
    return `${(error as Error).message}${phase}`;
  }
}

/** Steps 9-14 of the cycle, with rollback (§5.1) and quarantine (§5.2). */
export async function restartAt(input: RestartInput): Promise<RestartDecision> {
  const { ctx, config, log, state, from, to } = input;
  const now = () => ctx.now().getTime();
  const { session: s, problem } = await openSession(input);
  const changed = await s.git.changedFiles(from, to);
  const plan = planDeploy(config, changed);
  const timings: DeployTimings = { phases: {} };

  const preflightStart = now();
  const problems = [...(problem ? [problem] : []), ...(await preflight({ ctx, config, git: s.git, pm2: s.pm2, venvDir: s.io.venvDir }, to, plan))];
  timings.phases.preflight = now() - preflightStart;
  if (problems.length > 0) {
    for (const p of problems) log.error(`preflight: ${p}`);
    log.error('nothing was stopped; the services keep running at the current commit');
    return { outcome: 'failed', reason: 'preflight', timings };
  }
  log.info(`updating ${short(from)} -> ${short(to)} (sandbox setup: ${plan.sandbox ? 'yes' : 'no'}, dependency refresh: ${plan.deps ? 'yes' : 'no'})`);

  // Step 10: journal first, so a run killed from here on is recovered by the next one.
  const journal: Journal = { from, to, phase: 'stop', startedAt: ctx.now().toISOString(), pid: process.pid };
  state.journal = journal;
  await writeState(s.stateFile, state);
  const stoppedAt = now();
  try {
    const stopped = await s.pm2.stopNamespace(config.namespace);
    log.info(`stopped ${stopped.length ? stopped.join(', ') : 'nothing (no process in the namespace)'}`);
    await deployCommit(s.io, to, plan, timings);
  } catch (error) {
    const phase = error instanceof DeployError ? error.phase : journal.phase;
    log.error(`update to ${short(to)} failed in phase ${phase}: ${(error as Error).message}`);
    const rollbackError = await rollBack(s, journal, plan, timings);
    quarantine(state, to, ctx.now().toISOString(), `${phase} failed`);
    if (rollbackError === undefined) {
      delete state.journal;
      await writeState(s.stateFile, state);
      log.error(`rolled back: the services run at ${short(from)} again; ${short(to)} is quarantined until ${config.remote}/${config.branch} moves (or update --force)`);
      return { outcome: 'rolled-back', reason: `${phase}-failed`, changed: true, timings, downtimeMs: downtime(stoppedAt, timings) };
    }
    journal.rollbackFailed = true;
    await writeState(s.stateFile, state);
    loudFailure(log, config, from, rollbackError);
    return { outcome: 'failed', reason: 'rollback-failed', changed: true, timings };
  }
  delete state.journal;
  await writeState(s.stateFile, state);
  return { outcome: 'updated', changed: true, timings, downtimeMs: downtime(stoppedAt, timings) };
}

function downtime(stoppedAt: number, timings: DeployTimings): number | undefined {
  return timings.validatorOnlineAt === undefined ? undefined : timings.validatorOnlineAt - stoppedAt;
}

function loudFailure(log: UpdateLog, config: AutoupdateConfig, from: string, why: string): void {
  log.error('!!! ROLLBACK FAILED: the validator may be DOWN !!!');
  log.error(`rollback to ${short(from)} failed: ${why}`);
  log.error(`check: pm2 list --namespace ${config.namespace}; pm2 logs ${config.validatorProcessName}`);
  log.error(`the next run retries the rollback; to retry now: alphacore update --config ${config.file}`);
}

/**
 * Finishes or rolls back a run that was killed mid-update (§5.1), before anything
 * else. The killed run held the overlap lock, which we now hold: it is dead.
 */
export async function recoverInterrupted(input: Omit<RestartInput, 'from' | 'to'>): Promise<RestartDecision | undefined> {
  const { ctx, config, log, state } = input;
  const journal = state.journal;
  if (!journal) return undefined;
  const { session: s } = await openSession(input);
  const what = journal.rollbackFailed
    ? `failed to roll back (in phase ${journal.phase}); retrying the rollback first`
    : `was interrupted in phase ${journal.phase}${journal.rollingBack ? ' of its rollback' : ''}; recovering first`;
  log.warn(`a previous update ${short(journal.from)} -> ${short(journal.to)} (pid ${journal.pid}, started ${journal.startedAt}) ${what}`);
  // A kill during `git reset` can leave git's own index lock behind; nothing of ours runs git now.
  const indexLock = path.join(config.repoDir, '.git', 'index.lock');
  if (fs.existsSync(indexLock)) {
    log.warn(`removing ${indexLock} left by the interrupted run`);
    fs.rmSync(indexLock, { force: true });
  }
  const timings: DeployTimings = { phases: {} };
  const head = await s.git.headSha().catch(() => '');
  if (!journal.rollingBack && journal.phase === 'health' && head === journal.to) {
    // It got as far as the health check: finish it by checking health again.
    const procs = await s.pm2.list(config.namespace).catch(() => []);
    const validator = procs.find((p) => p.name === config.validatorProcessName);
    if (validator?.status === 'online') {
      try {
        await checkValidatorHealth(s.io, timings, validator.restarts);
        delete state.journal;
        await writeState(s.stateFile, state);
        log.info(`finished the interrupted update: ${short(journal.to)} is healthy`);
        return { outcome: 'updated', reason: 'recovered', changed: true, timings };
      } catch {
        // fall through to the rollback
      }
    }
  }
  const changed = await s.git.changedFiles(journal.from, journal.to).catch(() => [] as string[]);
  const plan = planDeploy(config, changed);
  const failedTarget = journal.rollingBack;
  const rollbackError = await rollBack(s, journal, plan, timings);
  // A target whose rollback was interrupted had already failed; a plain interruption
  // (power loss, kill) is not the release's fault and it may be tried again.
  if (failedTarget) quarantine(state, journal.to, ctx.now().toISOString(), 'failed (rollback interrupted)');
  if (rollbackError === undefined) {
    delete state.journal;
    await writeState(s.stateFile, state);
    log.warn(`recovered: the services run at ${short(journal.from)} again`);
    return { outcome: 'rolled-back', reason: journal.rollbackFailed ? 'rollback-retried' : 'interrupted', changed: true, timings };
  }
  journal.rollbackFailed = true;
  await writeState(s.stateFile, state);
  loudFailure(log, config, journal.from, rollbackError);
  return { outcome: 'failed', reason: 'rollback-failed', changed: true, timings };
}

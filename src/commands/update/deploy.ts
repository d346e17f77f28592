import path from 'node:path';
import type { Git } from '../../adapters/git.js';
import type { Pm2 } from '../../adapters/pm2.js';
import { describeFailure, run } from '../../adapters/shell.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { UpdateLog } from '../../core/log.js';
import { STEP_MS, type Budget } from './budget.js';
import { apiCommand, SCRIPTS, type DeployPlan } from './deploy-plan.js';
import { waitForApi, waitForStableProcess } from '../../domain/health.js';
import { endNamespaceOrphans } from '../../domain/orphans.js';

/** A step of the deploy failed; `phase` names it for the log, history and rollback. */
export class DeployError extends Error {
  constructor(
    readonly phase: string,
    message: string,
  ) {
    super(message);
  }
}

/** The venvs one side of a swap runs with (§5.4); undefined: the config's own (bash-era) ones. */
export interface SwapVenvs {
  validator?: string;
  api?: string;
}

export interface DeployIo {
  ctx: Context;
  config: AutoupdateConfig;
  log: UpdateLog;
  git: Git;
  pm2: Pm2;
  /** Relaunches the validator with the config's launch options (the launch module's code, not the CLI). */
  relaunch: (venvs: SwapVenvs, env: Record<string, string>) => Promise<void>;
  /** The validator venv the config names (VALIDATOR_VENV_DIR, else launch's default). */
  venvDir: string;
  /** Called at the start of each phase, to journal it. */
  onPhase: (phase: string) => Promise<void>;
  /** A signal received: the forward swap stops at the next step and rolls back. */
  interrupted: () => string | undefined;
}

export interface DeployTimings {
  phases: Record<string, number>;
  /** When the validator was first seen online (ms epoch). */
  validatorOnlineAt?: number;
}

export interface DeployRun {
  budget: Budget;
  venvs: SwapVenvs;
  /** The rollback finishes whatever happens; the forward swap stops at a signal. */
  ignoreInterrupts?: boolean;
  /**
   * The rollback's choice: an API that does not come up (or that this run cannot reach)
   * is reported here and the validator is started anyway; a stopped validator is the
   * one outcome the rollback must not leave behind.
   */
  onApiFailure?: (message: string) => void;
  /**
   * The rollback's choice for a reset that failed (a full disk, a held index.lock): said
   * here and the services are started from the clone as it is. Without it a failed
   * reset fails the deploy.
   */
  onResetFailure?: (message: string) => void;
  /** false: the commit is already checked out (a restore, §5.5): no reset, no setup. */
  reset?: boolean;
  /** false: the validator runs and is left alone (a restore of the API alone). */
  validator?: boolean;
}

/**
 * With prepared venvs (§5.4), pip in the repo's scripts finds everything installed:
 * PIP_NO_INDEX keeps it off the network between the stop and the start.
 */
export function swapEnv(ctx: Context, venvs: SwapVenvs): Record<string, string | undefined> {
  return venvs.api || venvs.validator ? { ...ctx.env, PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' } : { ...ctx.env };
}

/** What the operator sees for each phase (a live line on a terminal). */
const PHASE_TITLES: Record<string, string> = {
  reset: 'git reset',
  sandbox: 'sandbox setup',
  deps: 'installing requirements (pip)',
  api: 'starting the Validation API',
  validator: 'relaunching the validator',
  health: 'waiting for the validator to be healthy',
};

/** Steps 11-13 for one commit: reset, setup, API, validator, health. Throws DeployError. */
export async function deployCommit(io: DeployIo, sha: string, plan: DeployPlan, timings: DeployTimings, r: DeployRun): Promise<void> {
  const { ctx, config, log } = io;
  const now = () => ctx.now().getTime();
  const env = swapEnv(ctx, r.venvs);
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const signal = r.ignoreInterrupts ? undefined : io.interrupted();
    if (signal) throw new DeployError(name, `interrupted by ${signal} before ${name}`);
    if (r.budget.expired()) throw new DeployError(name, `the ${r.budget.stage} ran out of its time budget before ${name}`);
    await io.onPhase(name);
    const start = now();
    try {
      return await log.phase(PHASE_TITLES[name] ?? name, fn);
    } catch (error) {
      if (error instanceof DeployError) throw error;
      throw new DeployError(name, (error as Error).message);
    } finally {
      timings.phases[name] = (timings.phases[name] ?? 0) + (now() - start);
    }
  };
  const sh = async (name: string, file: string, args: string[], timeoutMs: number) => {
    const result = await run(file, args, { cwd: config.repoDir, env, timeoutMs: r.budget.cap(timeoutMs) });
    log.output(result.command, result.stdout, result.stderr);
    if (!result.ok) throw new DeployError(name, describeFailure(result));
  };

  if (r.reset !== false) await resetTo(io, sha, phase, r.onResetFailure);
  if (plan.sandbox) {
    await phase('sandbox', () => sh('sandbox', 'sudo', ['-n', 'bash', path.join(config.repoDir, SCRIPTS.sandbox)], STEP_MS.sandbox));
    log.info('sandbox setup done');
  }
  // With a prepared validator venv the refresh already happened before the stop.
  if (plan.deps && !r.venvs.validator) {
    const pip = path.join(io.venvDir, 'bin', 'pip');
    await phase('deps', () => sh('deps', pip, ['install', '--disable-pip-version-check', '-r', path.join(config.repoDir, SCRIPTS.requirements)], STEP_MS.pipInstall));
    log.info('dependencies refreshed');
  }
  // Processes of the namespace a dead daemon left running hold the API's port and run a
  // second validator of the same hotkey: ended by pid before anything starts.
  await endNamespaceOrphans(ctx, config.namespace, (line) => log.warn(line)).catch((error: Error) => {
    throw new DeployError('orphans', error.message);
  });
  if (plan.api) {
    const apiPhase = phase('api', async () => {
      const { file, args } = apiCommand(config, r.venvs.api);
      await sh('api', file, args, STEP_MS.apiScript);
      const health = await waitForApi(config.validationApiEndpoint, r.budget.cap(config.healthTimeoutMs), now);
      if (!health.ok) throw new DeployError('api', `Validation API not healthy: ${health.detail}`);
    });
    if (r.onApiFailure) {
      try {
        await apiPhase;
        log.info(`Validation API up at ${config.validationApiEndpoint}`);
      } catch (error) {
        r.onApiFailure((error as Error).message);
      }
    } else {
      await apiPhase;
      log.info(`Validation API up at ${config.validationApiEndpoint}`);
    }
  }
  if (r.validator === false) return;
  await phase('validator', () => io.relaunch(r.venvs, r.venvs.api || r.venvs.validator ? { PIP_NO_INDEX: '1' } : {}));
  await phase('health', () => checkValidatorHealth(io, timings, 0, r.budget));
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/**
 * `git reset --hard`, then HEAD and the working tree read back: a reset that failed
 * half-way (ENOSPC while writing files) may exit 0 or leave HEAD moved over a torn
 * tree, and no line may claim a commit the clone is not at.
 */
async function resetTo(io: DeployIo, sha: string, phase: <T>(name: string, fn: () => Promise<T>) => Promise<T>, onFailure?: (message: string) => void): Promise<void> {
  try {
    await phase('reset', async () => {
      await io.git.resetHard(sha);
      const head = await io.git.headSha();
      if (head !== sha) throw new Error(`git reset --hard ${short(sha)} left HEAD at ${short(head)}`);
      const torn = await io.git.dirtyTrackedFiles();
      if (torn.length > 0) throw new Error(`git reset --hard ${short(sha)} left ${torn.length} tracked file(s) differing from it (${torn.slice(0, 3).join(', ')}): a half-written working tree (disk full?)`);
    });
    io.log.info(`deploy clone at ${short(sha)}`);
  } catch (error) {
    if (!onFailure) throw error;
    const message = (error as Error).message;
    onFailure(message);
    const head = await io.git.headSha().catch(() => undefined);
    io.log.error(`the deploy clone is at ${head ? short(head) : 'an unknown commit (git cannot read HEAD)'}, not ${short(sha)}: the reset failed (${message})`);
  }
}

/**
 * Waits until PM2 shows the validator online with no restart (beyond
 * `baselineRestarts`) for HEALTH_STABLE. Throws DeployError('health').
 */
export async function checkValidatorHealth(io: DeployIo, timings: DeployTimings, baselineRestarts = 0, budget?: Budget): Promise<void> {
  const { ctx, config } = io;
  const health = await waitForStableProcess(io.pm2, config.namespace, config.validatorProcessName, {
    stableMs: config.healthStableMs,
    timeoutMs: budget ? budget.cap(config.healthTimeoutMs) : config.healthTimeoutMs,
    now: () => ctx.now().getTime(),
    baselineRestarts,
  });
  if (!health.ok) throw new DeployError('health', `validator not healthy: ${health.detail}`);
  timings.validatorOnlineAt = health.onlineAt;
  io.log.info(health.detail);
}

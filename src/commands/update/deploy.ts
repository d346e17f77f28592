import path from 'node:path';
import type { Git } from '../../adapters/git.js';
import type { Pm2 } from '../../adapters/pm2.js';
import { describeFailure, run } from '../../adapters/shell.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { UpdateLog } from '../../core/log.js';
import { apiCommand, SCRIPTS, type DeployPlan } from './deploy-plan.js';
import { waitForApi, waitForStableProcess } from './health.js';

/** A step of the deploy failed; `phase` names it for the log, history and rollback. */
export class DeployError extends Error {
  constructor(
    readonly phase: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DeployIo {
  ctx: Context;
  config: AutoupdateConfig;
  log: UpdateLog;
  git: Git;
  pm2: Pm2;
  /** Relaunches the validator with the config's launch flags (the launch module's code, not the CLI). */
  relaunch: () => Promise<void>;
  /** The validator venv (VALIDATOR_VENV_DIR, else launch's default). */
  venvDir: string;
  /** Called at the start of each phase, to journal it. */
  onPhase: (phase: string) => Promise<void>;
}

export interface DeployTimings {
  phases: Record<string, number>;
  /** When the validator was first seen online (ms epoch). */
  validatorOnlineAt?: number;
}

const SETUP_TIMEOUT_MS = 20 * 60_000;

/** What the operator sees for each phase (a live line on a terminal). */
const PHASE_TITLES: Record<string, string> = {
  reset: 'git reset',
  sandbox: 'sandbox setup',
  deps: 'installing requirements (pip)',
  api: 'starting the Validation API',
  validator: 'relaunching the validator',
  health: 'waiting for the validator to be healthy',
};
const API_SCRIPT_TIMEOUT_MS = 5 * 60_000;

/** Steps 11-13 for one commit: reset, setup, API, validator, health. Throws DeployError. */
export async function deployCommit(io: DeployIo, sha: string, plan: DeployPlan, timings: DeployTimings): Promise<void> {
  const { ctx, config, log } = io;
  const now = () => ctx.now().getTime();
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
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
    const result = await run(file, args, { cwd: config.repoDir, env: ctx.env, timeoutMs });
    log.output(result.command, result.stdout, result.stderr);
    if (!result.ok) throw new DeployError(name, describeFailure(result));
  };

  await phase('reset', () => io.git.resetHard(sha));
  log.info(`deploy clone at ${sha.slice(0, 7)}`);
  if (plan.sandbox) {
    await phase('sandbox', () => sh('sandbox', 'sudo', ['-n', 'bash', path.join(config.repoDir, SCRIPTS.sandbox)], SETUP_TIMEOUT_MS));
    log.info('sandbox setup done');
  }
  if (plan.deps) {
    const pip = path.join(io.venvDir, 'bin', 'pip');
    await phase('deps', () => sh('deps', pip, ['install', '--disable-pip-version-check', '-r', path.join(config.repoDir, SCRIPTS.requirements)], SETUP_TIMEOUT_MS));
    log.info('dependencies refreshed');
  }
  if (plan.api) {
    await phase('api', async () => {
      const { file, args } = apiCommand(config);
      await sh('api', file, args, API_SCRIPT_TIMEOUT_MS);
      const health = await waitForApi(config.validationApiEndpoint, config.healthTimeoutMs, now);
      if (!health.ok) throw new DeployError('api', `Validation API not healthy: ${health.detail}`);
    });
    log.info(`Validation API up at ${config.validationApiEndpoint}`);
  }
  await phase('validator', () => io.relaunch());
  await phase('health', () => checkValidatorHealth(io, timings));
}

/**
 * Waits until PM2 shows the validator online with no restart (beyond
 * `baselineRestarts`) for HEALTH_STABLE. Throws DeployError('health').
 */
export async function checkValidatorHealth(io: DeployIo, timings: DeployTimings, baselineRestarts = 0): Promise<void> {
  const { ctx, config } = io;
  const health = await waitForStableProcess(io.pm2, config.namespace, config.validatorProcessName, {
    stableMs: config.healthStableMs,
    timeoutMs: config.healthTimeoutMs,
    now: () => ctx.now().getTime(),
    baselineRestarts,
  });
  if (!health.ok) throw new DeployError('health', `validator not healthy: ${health.detail}`);
  timings.validatorOnlineAt = health.onlineAt;
  io.log.info(health.detail);
}

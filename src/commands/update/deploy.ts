import path from 'node:path';
import type { Git } from '../../adapters/git.js';
import type { Pm2 } from '../../adapters/pm2.js';
import { describeFailure, run } from '../../adapters/shell.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { UpdateLog } from '../../core/log.js';
import { STEP_MS, type Budget } from './budget.js';
import { apiCommand, SCRIPTS, type DeployPlan } from './deploy-plan.js';
import { apiPort, waitHealthy, waitForStableProcess, type HealthFault, type HealthResult, type ServiceSpec } from '../../domain/health.js';

/**
 * A step of the deploy failed; `phase` names it for the log, history and rollback, and
 * `fault` says why a health check failed (a stranger on the API port, a signal, ...).
 */
export class DeployError extends Error {
  constructor(
    readonly phase: string,
    message: string,
    readonly fault?: HealthFault,
  ) {
    super(message);
  }
}

/** The Validation API as the health checks watch it (§5.6): its PM2 process, its port, its endpoint. */
export function apiService(config: AutoupdateConfig): ServiceSpec {
  const endpoint = config.validationApiEndpoint;
  return { name: config.validationProcessName, api: { endpoint, port: apiPort(config.values.VALIDATION_HTTP_PORT, endpoint) } };
}

function healthError(phase: string, what: string, result: Extract<HealthResult, { ok: false }>): DeployError {
  return new DeployError(phase, result.fault === 'interrupted' ? result.detail : `${what}: ${result.detail}`, result.fault);
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
   * one outcome the rollback must not leave behind, except a validator talking to a
   * process that is not our API (another process holds its port).
   */
  onApiFailure?: (message: string) => void;
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
    if (signal) throw new DeployError(name, `interrupted by ${signal} before ${name}`, 'interrupted');
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

  await phase('reset', () => io.git.resetHard(sha));
  log.info(`deploy clone at ${sha.slice(0, 7)}`);
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
  let apiUp = false;
  if (plan.api) {
    const apiPhase = phase('api', async () => {
      const { file, args } = apiCommand(config, r.venvs.api);
      await sh('api', file, args, STEP_MS.apiScript);
      // Up, ours and answering before the validator starts (it refuses to start without
      // the API); its stability is watched with the validator's, in the health phase.
      const health = await waitHealthy(watch(io, { stableMs: 0, timeoutMs: r.budget.cap(config.healthTimeoutMs), interrupted: r.ignoreInterrupts ? undefined : io.interrupted }), [apiService(config)]);
      if (!health.ok) throw healthError('api', 'Validation API not healthy', health);
      apiUp = true;
    });
    if (r.onApiFailure) {
      try {
        await apiPhase;
        log.info(`Validation API up at ${config.validationApiEndpoint}`);
      } catch (error) {
        // A stranger on the API port would get the validator's traffic: then not even
        // the rollback starts the validator (it fails, loudly, and is retried).
        if (error instanceof DeployError && error.fault === 'api-port-taken') throw error;
        r.onApiFailure((error as Error).message);
      }
    } else {
      await apiPhase;
      log.info(`Validation API up at ${config.validationApiEndpoint}`);
    }
  }
  await phase('validator', () => io.relaunch(r.venvs, r.venvs.api || r.venvs.validator ? { PIP_NO_INDEX: '1' } : {}));
  await phase('health', () => checkHealth(io, timings, { api: apiUp, budget: r.budget, ignoreInterrupts: r.ignoreInterrupts }));
}

function watch(io: DeployIo, o: { stableMs: number; timeoutMs: number; interrupted?: () => string | undefined; baselineRestarts?: Record<string, number> }) {
  return { pm2: io.pm2, namespace: io.config.namespace, now: () => io.ctx.now().getTime(), ...o };
}

/**
 * Step 13's wait: the validator, and the Validation API when this deploy started it,
 * online with no restart for HEALTH_STABLE, the API still on its port and answering (an
 * API that crashes after its first answer fails the release as a validator does). A
 * signal ends the wait at once (the forward swap then rolls back). Throws DeployError('health').
 */
export async function checkHealth(
  io: DeployIo,
  timings: DeployTimings,
  o: { api: boolean; budget?: Budget; ignoreInterrupts?: boolean; /** Restarts that do not count (processes found running, e.g. by a recovery). */ baselineRestarts?: Record<string, number> },
): Promise<void> {
  const { config } = io;
  const timeoutMs = o.budget ? o.budget.cap(config.healthTimeoutMs) : config.healthTimeoutMs;
  const services: ServiceSpec[] = [...(o.api ? [apiService(config)] : []), { name: config.validatorProcessName }];
  const interrupted = o.ignoreInterrupts ? undefined : io.interrupted;
  const health = await waitHealthy(watch(io, { stableMs: config.healthStableMs, timeoutMs, interrupted, baselineRestarts: o.baselineRestarts }), services);
  if (!health.ok) throw healthError('health', health.service === config.validatorProcessName ? 'validator not healthy' : 'Validation API not healthy', health);
  timings.validatorOnlineAt = health.onlineAt[config.validatorProcessName];
  io.log.info(health.detail);
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
  if (!health.ok) throw healthError('health', 'validator not healthy', health);
  timings.validatorOnlineAt = health.onlineAt;
  io.log.info(health.detail);
}

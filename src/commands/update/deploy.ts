import { withoutSecrets } from '../../core/secrets.js';
import { PM2_HANG_EVERY_MS, pm2HangCheck } from '../../adapters/pm2-hang.js';
import { Pm2Hung } from '../../adapters/pm2.js';
import { pm2Home } from '../../adapters/pm2-home.js';
import { describeHolder, portHolder } from '../../adapters/proc-net.js';
import { describeFailure, run as runProgram } from '../../adapters/shell.js';
import { waitHealthy, type HealthResult, type HealthWatch, type ServiceSpec } from '../../domain/health.js';
import { endNamespaceOrphans } from '../../domain/orphans.js';
import type { Budget } from './budget.js';
// Static: this module is already in the lazy chunk, and the launch code must be loaded
// before the stop (preflight resolves the options), never between the stop and the start.
import { relaunch } from './launch-hooks.js';
import { describeStep, type ApiWatch, type DeployStep, type DeployTarget, type StopStep, type VenvStep } from './plan.js';
import type { Run } from './run.js';

export type { SwapVenvs } from './plan.js';

/** The journal's phases: the stop, then the deploy steps. */
export type DeployPhase = 'stop' | DeployStep['step'];

/**
 * Why a deploy step failed, for the swap's and the rollback's decisions:
 * `interrupted` (a signal: not the release's fault), `budget` (the stage's time ran
 * out), `state-write` (the journal could not be written), `api-port-taken` (another
 * process holds the Validation API's port: not the release's fault, and no validator
 * may be started against it), `pm2-silent` (the PM2 daemon stopped answering during a
 * wait: the machine's fault), `pm2-vanished` (a process PM2 ran was deleted under the
 * run: pm2 kill or delete), `process-stopped` (SIGSTOP), `failed` (the step itself).
 */
export type DeployCause = 'interrupted' | 'budget' | 'state-write' | 'api-port-taken' | 'pm2-silent' | 'pm2-vanished' | 'process-stopped' | 'failed';

/** A step of the deploy failed; `phase` names it for the log, history and rollback. */
export class DeployError extends Error {
  override readonly cause: DeployCause;
  constructor(
    readonly phase: DeployPhase,
    cause: DeployCause,
    message: string,
  ) {
    super(message);
    this.name = 'DeployError';
    this.cause = cause;
  }
}

/** A failed health judgement as a DeployError: its typed fault mapped to the cause the swap decides on. */
function healthError(phase: 'api' | 'health', what: string, result: Extract<HealthResult, { ok: false }>): DeployError {
  if (result.fault === 'interrupted') return new DeployError(phase, 'interrupted', result.detail);
  const cause: DeployCause =
    result.fault === 'api-port-taken' || result.fault === 'pm2-silent' || result.fault === 'process-stopped' ? result.fault : result.fault === 'vanished' ? 'pm2-vanished' : 'failed';
  return new DeployError(phase, cause, `${what}: ${result.detail}`);
}

/** The Validation API as waitHealthy watches it: its PM2 process, its port, its /health. */
function apiService(run: Run, api: ApiWatch): ServiceSpec {
  return { name: api.process, api: { endpoint: run.config.validationApiEndpoint, port: api.port } };
}

function watch(run: Run, o: Pick<HealthWatch, 'stableMs' | 'timeoutMs' | 'interrupted' | 'baselineRestarts'>): HealthWatch {
  return { pm2: run.pm2, namespace: run.config.namespace, now: () => run.ctx.now().getTime(), ...o };
}

export interface DeployTimings {
  phases: Record<string, number>;
  /** When the validator was first seen online (ms epoch). */
  validatorOnlineAt?: number;
}

export interface DeployRun {
  budget: Budget;
  /** Called at the start of each phase, to journal it; throws StateWriteError. */
  onPhase(phase: DeployPhase): Promise<void>;
  /**
   * The rollback's choices: it ignores signals, and a failed reset (a held index.lock)
   * or an API that does not come up is reported here and the next steps run anyway; a
   * stopped validator is the one outcome the rollback must not leave behind, except a
   * validator talking to a process that is not our API (another process holds its port).
   */
  rollback?: { tolerate(phase: 'reset' | 'api', error: DeployError): void };
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

/** A step as it is executed: in the log file, and as a JSON event (the plan printed the same value). */
export function announceStep(run: Run, step: VenvStep | StopStep | DeployStep, part?: 'forward' | 'rollback'): void {
  run.log.record(`step: ${part === 'rollback' ? 'rollback: ' : ''}${describeStep(step)}`);
  run.log.event({ event: 'step', ...(part ? { part } : {}), ...step });
}

/** Steps 11-13 for one commit, executed from the plan's target: reset, setup, API, validator, health. Throws DeployError. */
export async function deployCommit(run: Run, target: DeployTarget, timings: DeployTimings, r: DeployRun): Promise<void> {
  const { ctx, config, log } = run;
  const now = () => ctx.now().getTime();
  // With prepared venvs (§5.4), pip in the repo's scripts finds everything installed:
  // PIP_NO_INDEX keeps it off the network between the stop and the start.
  // The repo's scripts start PM2 processes with this environment: no secret in it (§5.7),
  // but the API's token when there is no creds file to read instead (its only source).
  const base = withoutSecrets(ctx.env, config.gcpCredsFile ? [] : ['GOOGLE_OAUTH_ACCESS_TOKEN']);
  const env = target.venvs.api || target.venvs.validator ? { ...base, PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' } : base;
  const phase = async <T>(step: DeployStep, fn: () => Promise<T>): Promise<T> => {
    const name = step.step;
    const signal = r.rollback ? undefined : run.interrupts?.requested();
    if (signal) throw new DeployError(name, 'interrupted', `interrupted by ${signal} before ${name}`);
    if (r.budget.expired()) throw new DeployError(name, 'budget', `the ${r.budget.stage} ran out of its time budget before ${name}`);
    try {
      await r.onPhase(name);
    } catch (error) {
      throw new DeployError(name, 'state-write', (error as Error).message);
    }
    announceStep(run, step, r.rollback ? 'rollback' : 'forward');
    const start = now();
    try {
      return await log.phase(PHASE_TITLES[name] ?? name, fn);
    } catch (error) {
      if (error instanceof DeployError) throw error;
      // A pm2 command ended for want of a daemon (its own error, or the cause of a wrapping one).
      const hung = error instanceof Pm2Hung || (error as Error).cause instanceof Pm2Hung;
      throw new DeployError(name, hung ? 'pm2-silent' : 'failed', (error as Error).message);
    } finally {
      timings.phases[name] = (timings.phases[name] ?? 0) + (now() - start);
    }
  };
  // The repo's API script runs `pm2 start`, which waits forever when its daemon dies under it.
  const hang = { everyMs: PM2_HANG_EVERY_MS, check: pm2HangCheck(pm2Home(ctx), now) };
  const sh = async (name: DeployPhase, argv: string[], timeoutMs: number) => {
    const result = await runProgram(argv[0]!, argv.slice(1), { cwd: config.repoDir, env, timeoutMs: r.budget.cap(timeoutMs), ...(name === 'api' ? { watch: hang } : {}) });
    log.output(result.command, result.stdout, result.stderr);
    if (!result.ok) throw new DeployError(name, result.endedBy ? 'pm2-silent' : 'failed', describeFailure(result));
  };
  /**
   * A step the rollback goes past when it fails (reported to it); the forward swap stops
   * there. A stranger on the API port would get the validator's traffic: then not even
   * the rollback starts the validator (it fails, loudly, and is retried).
   */
  const tolerated = async (name: 'reset' | 'api', work: Promise<void>): Promise<boolean> => {
    if (!r.rollback) {
      await work;
      return true;
    }
    try {
      await work;
      return true;
    } catch (error) {
      if (error instanceof DeployError && error.cause === 'api-port-taken') throw error;
      r.rollback.tolerate(name, error instanceof DeployError ? error : new DeployError(name, 'failed', (error as Error).message));
      return false;
    }
  };
  const interrupted = r.rollback ? undefined : () => run.interrupts?.requested();
  // The API joins the health phase's watch only when this deploy brought it up.
  let apiUp = false;
  let apiWatch: ApiWatch | undefined;

  // Processes of the namespace a dead daemon left running hold the API's port and run a
  // second validator of the same hotkey: ended by pid before the first start.
  let orphansEnded = false;
  const endOrphans = async (name: 'api' | 'validator') => {
    if (orphansEnded) return;
    orphansEnded = true;
    await endNamespaceOrphans(ctx, config.namespace, (line) => log.warn(line)).catch((error: Error) => {
      throw new DeployError(name, 'failed', `cannot end the namespace's orphaned processes: ${error.message}`);
    });
  };

  for (const step of target.steps) {
    switch (step.step) {
      case 'reset':
        if (await tolerated('reset', phase(step, () => resetTo(run, step.commit)))) log.info(`deploy clone at ${short(step.commit)}`);
        else {
          const head = await run.git.headSha().catch(() => undefined);
          log.error(`the deploy clone is at ${head ? short(head) : 'an unknown commit (git cannot read HEAD)'}, not ${short(step.commit)}`);
        }
        break;
      case 'sandbox':
        await phase(step, () => sh('sandbox', step.argv, step.timeoutMs));
        log.info('sandbox setup done');
        break;
      case 'deps':
        await phase(step, () => sh('deps', step.argv, step.timeoutMs));
        log.info('dependencies refreshed');
        break;
      case 'api': {
        apiWatch = step;
        await endOrphans('api');
        const up = phase(step, async () => {
          // What PM2 lists now (the stopped validator): gone after the start, the namespace was wiped under the run.
          const present = (await run.pm2.list(config.namespace).catch(() => [])).map((p) => p.name);
          await sh('api', step.argv, step.timeoutMs);
          // Up, ours and answering before the validator starts (it refuses to start without
          // the API); its stability is watched with the validator's, in the health phase.
          const health = await waitHealthy({ ...watch(run, { stableMs: 0, timeoutMs: r.budget.cap(step.healthTimeoutMs), interrupted }), present }, [apiService(run, step)]);
          if (!health.ok) throw healthError('api', 'Validation API not healthy', health);
        });
        apiUp = await tolerated('api', up);
        if (apiUp) log.info(`Validation API up at ${config.validationApiEndpoint}`);
        break;
      }
      case 'validator': {
        await endOrphans('validator');
        // The rollback starts the validator after an API that did not come up, but never
        // against a port another process holds, however the API's failure was judged
        // (under load a crash on EADDRINUSE can read as PM2 slow to answer).
        if (r.rollback && !apiUp && apiWatch) await refuseForeignPort(run, apiWatch);
        await phase(step, () => relaunch(run, step));
        break;
      }
      case 'health': {
        const api = apiUp ? step.api : undefined;
        await phase(step, () => checkHealth(run, step, timings, { ...(api ? { api } : {}), budget: r.budget, interrupted }));
        break;
      }
    }
  }
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/** Throws DeployError('validator', 'api-port-taken') when a process outside the API's PM2 tree listens on its port. */
async function refuseForeignPort(run: Run, api: ApiWatch): Promise<void> {
  const pid = (await run.pm2.list(run.config.namespace).catch(() => [])).find((p) => p.name === api.process && p.pid > 0)?.pid;
  const holder = portHolder(api.port, pid);
  if (holder.kind !== 'other') return;
  throw new DeployError('validator', 'api-port-taken', `port ${api.port} is held by ${describeHolder(holder)}, not by ${api.process}: the validator is not started against it`);
}

/**
 * `git reset --hard`, then HEAD and the working tree read back: a reset that failed
 * half-way (ENOSPC while writing files) may exit 0 or leave HEAD moved over a torn
 * tree, and no line may claim a commit the clone is not at.
 */
async function resetTo(run: Run, sha: string): Promise<void> {
  await run.git.resetHard(sha);
  const head = await run.git.headSha();
  if (head !== sha) throw new Error(`git reset --hard ${short(sha)} left HEAD at ${short(head)}`);
  const torn = await run.git.dirtyTrackedFiles();
  if (torn.length > 0) throw new Error(`git reset --hard ${short(sha)} left ${torn.length} tracked file(s) differing from it (${torn.slice(0, 3).join(', ')}): a half-written working tree (disk full?)`);
}

/**
 * Step 13's wait: the validator, and the Validation API when `api` is given, online with
 * no restart for HEALTH_STABLE, the API still on its port and answering (an API that
 * crashes after its first answer fails the release as a validator does). A signal ends
 * the wait at once (the forward swap then rolls back). Throws DeployError('health').
 */
export async function checkHealth(
  run: Run,
  step: Extract<DeployStep, { step: 'health' }>,
  timings: DeployTimings,
  o: {
    api?: ApiWatch;
    budget?: Budget;
    interrupted?: () => string | undefined;
    /** Restarts that do not count (processes found running, e.g. by a recovery). */
    baselineRestarts?: Record<string, number>;
  },
): Promise<void> {
  const timeoutMs = o.budget ? o.budget.cap(step.timeoutMs) : step.timeoutMs;
  const services: ServiceSpec[] = [...(o.api ? [apiService(run, o.api)] : []), { name: step.process }];
  // Step 13 comes after the starts, which saw each process online: one gone now was deleted under the run.
  const started = services.map((s) => s.name);
  const health = await waitHealthy({ ...watch(run, { stableMs: step.stableMs, timeoutMs, interrupted: o.interrupted, baselineRestarts: o.baselineRestarts }), started }, services);
  if (!health.ok) throw healthError('health', health.service === step.process ? 'validator not healthy' : 'Validation API not healthy', health);
  timings.validatorOnlineAt = health.onlineAt[step.process];
  run.log.info(health.detail);
}

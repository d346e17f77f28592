import path from 'node:path';
import { probePm2PidFiles } from '../adapters/pm2-pidfiles.js';
import { writeAtomic } from '../adapters/atomic-write.js';
import { NAME, readConfig, type AutoupdateConfig, type ConfigReading } from '../core/config.js';
import { pm2Home } from '../adapters/pm2-home.js';
import type { Context } from '../core/context.js';
import { countRun, foldWeights, renderMetrics } from '../core/metrics.js';
import { observeWarmup, validatorOutLog } from './warmup-read.js';
import type { UpdateState } from '../core/state.js';

/** The file node_exporter's textfile collector reads for a namespace (DESIGN.md §3, §12). */
export function metricsFile(metricsDir: string, namespace: string): string {
  return path.join(metricsDir, `alphacore_${namespace}.prom`);
}

/** The processes the namespace should run: the validator, and the API unless it is disabled. */
function expectedProcesses(config: AutoupdateConfig): string[] {
  const apiDisabled = config.validatorExtraArgs.includes('--disable-validation-api');
  return apiDisabled ? [config.validatorProcessName] : [config.validationProcessName, config.validatorProcessName];
}

/**
 * Folds a finished run into `state.metrics` (persisted with the state right after) and
 * looks at PM2's pid files. Cheap: no git, no pm2 call, no network.
 */
export function observeRun(
  ctx: Context,
  config: AutoupdateConfig,
  state: UpdateState,
  run: { at: string; outcome: string; reason?: string; from?: string; to?: string; downtimeMs?: number },
): void {
  const previous = state.metrics?.weights;
  state.metrics = countRun(state.metrics, { ...run, pm2Up: probePm2PidFiles(pm2Home(ctx), expectedProcesses(config)) });
  // One bounded read of the validator's log (DESIGN.md §14): its warm-up for the alert rules.
  const w = observeWarmup({ log: validatorOutLog(config.repoDir, config.validatorProcessName) });
  const now = {
    ...(w.lastEmitAt ? { lastEmitAt: w.lastEmitAt } : {}),
    ...(w.tasksDone !== undefined ? { tasksDone: w.tasksDone } : {}),
    ...(w.tasksNeeded !== undefined ? { tasksNeeded: w.tasksNeeded } : {}),
  };
  if (previous || w.state !== 'unknown') state.metrics.weights = foldWeights(previous, now);
}

/**
 * Rewrites METRICS_DIR/alphacore_<ns>.prom from the state. Returns a warning to log
 * when the file could not be written (a missing or read-only directory must not fail
 * the update), undefined otherwise.
 */
export function publishMetrics(metricsDir: string | undefined, namespace: string, state: UpdateState, configFile: string): string | undefined {
  if (!metricsDir || !state.metrics) return undefined;
  const file = metricsFile(metricsDir, namespace);
  try {
    // 0644: node_exporter runs as another user. Not durable: the next run rewrites it within
    // minutes, and the timer's no-op path should not wait on the disk.
    writeAtomic(file, renderMetrics(namespace, state.metrics, state.quarantine.length), { mode: 0o644 });
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return `cannot write metrics ${file} (${code}): create METRICS_DIR=${metricsDir} and let this user write to it, or remove METRICS_DIR from ${configFile}.`;
  }
}

/**
 * The namespace and metrics settings of a config that may have failed validation (or
 * even parsing), read in salvage mode: PM2_NAMESPACE when it is set and valid, else the
 * file's name (`<ns>.env`, what launch writes, the timer instance's name); METRICS_DIR
 * when absolute. undefined when neither names a namespace.
 */
export function salvageTarget(ctx: Context, file: string): { namespace: string; metricsDir?: string; lockfile?: string } | undefined {
  const reading = readConfig({ file, env: ctx.env, paths: ctx.paths }, 'salvage');
  return targetOf(reading);
}

export function targetOf(reading: ConfigReading): { namespace: string; metricsDir?: string; lockfile?: string } | undefined {
  const { config, given, invalid } = reading;
  const base = path.basename(reading.file);
  const fromName = base.endsWith('.env') ? base.slice(0, -'.env'.length) : undefined;
  const namespace = given.has('PM2_NAMESPACE') && !invalid.has('PM2_NAMESPACE') ? config.namespace : fromName;
  if (!namespace || !NAME.test(namespace)) return undefined;
  return { namespace, metricsDir: config.metricsDir, lockfile: given.has('AUTOUPDATE_LOCKFILE') ? config.lockfile : undefined };
}

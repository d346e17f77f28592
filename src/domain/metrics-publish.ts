import fs from 'node:fs';
import path from 'node:path';
import { probePm2PidFiles } from '../adapters/pm2-pidfiles.js';
import { replaceTextfile } from '../adapters/textfile.js';
import { configValues, NAME, namespaceOf, type AutoupdateConfig, type ConfigKey } from '../core/config.js';
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
    replaceTextfile(file, renderMetrics(namespace, state.metrics, state.quarantine.length));
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return `cannot write metrics ${file} (${code}): create METRICS_DIR=${metricsDir} and let this user write to it, or remove METRICS_DIR from ${configFile}.`;
  }
}

/**
 * The namespace and metrics settings of a config that failed validation (or even
 * parsing): PM2_NAMESPACE when it can be read, else the file's name (`<ns>.env`, what
 * launch writes); METRICS_DIR from the file or the environment. undefined when neither
 * names a namespace.
 */
export function salvageConfig(
  ctx: Context,
  file: string,
): { namespace: string; metricsDir?: string; lockfile?: string } | undefined {
  let values: Partial<Record<ConfigKey, string>> = {};
  try {
    values = configValues(fs.readFileSync(file, 'utf8'), file, ctx.env, {}, ctx.paths.home).values;
  } catch {
    // Unreadable or unparseable: only the lines we need, each if it alone parses.
    let lines: string[] = [];
    try {
      lines = fs.readFileSync(file, 'utf8').split('\n');
    } catch {
      // nothing usable in the file
    }
    for (const key of ['METRICS_DIR', 'PM2_NAMESPACE', 'AUTOUPDATE_LOCKFILE'] as const) {
      const line = lines.filter((l) => new RegExp(`^\\s*(export\\s+)?${key}=`).test(l)).at(-1);
      try {
        if (line) values[key] = configValues(line, file, ctx.env, {}, ctx.paths.home).values[key];
      } catch {
        // that line does not parse either
      }
    }
    if (ctx.env.METRICS_DIR) values.METRICS_DIR = ctx.env.METRICS_DIR;
  }
  const base = path.basename(file);
  const fromName = base.endsWith('.env') ? base.slice(0, -'.env'.length) : undefined;
  const namespace = values.PM2_NAMESPACE && NAME.test(values.PM2_NAMESPACE) ? namespaceOf(values) : fromName;
  if (!namespace || !NAME.test(namespace)) return undefined;
  const metricsDir = values.METRICS_DIR && path.isAbsolute(values.METRICS_DIR) ? values.METRICS_DIR : undefined;
  return { namespace, metricsDir, lockfile: values.AUTOUPDATE_LOCKFILE || undefined };
}

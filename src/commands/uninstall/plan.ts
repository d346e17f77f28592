import fs from 'node:fs';
import path from 'node:path';
import { DEFAULTS, readConfig, type AutoupdateConfig, type ConfigKey } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { readState } from '../../core/state.js';
import type { Pm2Process } from '../../adapters/pm2.js';
import type { SchedulerStatus } from '../../scheduler/index.js';
import { userDataDir } from '../../scheduler/systemd-backend.js';

/** What `alphacore uninstall` removes and what it leaves, decided before anything changes. */
export interface UninstallPlan {
  namespace: string;
  configFile?: string;
  /** The namespace's update lock (AUTOUPDATE_LOCKFILE, else the default), held while removing. */
  lockfile: string;
  scheduler?: SchedulerStatus;
  /** What removing the timer or crontab line takes, step by step (the scheduler's own dry run). */
  schedulerSteps: string[];
  /** Folders removed at the end when nothing else is left in them (checked then, in this order). */
  emptyFolders: string[];
  /** PM2 processes to stop and delete (empty with --keep-processes). */
  processes: { name: string; pmId: number }[];
  /** The updater's own files for the namespace: log (and rotations), state, history, locks. */
  stateFiles: string[];
  /** Left in place, with what they are. */
  kept: { what: string; path: string }[];
  /** The config's lines that could not be read, when some could not (the rest still goes). */
  configProblem?: string;
}

/** Exactly this namespace's files in the state dir; "a" never matches "a.b"'s files. */
export function stateFilePattern(namespace: string): RegExp {
  const ns = namespace.replace(/[.]/g, '\\.');
  return new RegExp(`^${ns}\\.(log(\\.\\d+)?|state\\.json(\\.corrupt)?|history\\.jsonl|lock(\\.owner-\\d+)?|round\\.lock)$`);
}

export function namespaceStateFiles(ctx: Context, namespace: string): string[] {
  const dir = ctx.paths.autoupdateStateDir;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const pattern = stateFilePattern(namespace);
  return names.filter((n) => pattern.test(n)).sort().map((n) => path.join(dir, n));
}

/**
 * What the config names, read in salvage mode: the good lines still count when another
 * line does not parse. `problem` says which lines could not be read (what they name is
 * then not listed); a value that fails validation is still what the config names.
 */
function readNamed(ctx: Context, file: string): { config: AutoupdateConfig; given: ReadonlySet<ConfigKey>; problem?: string; exists: boolean } {
  const reading = readConfig({ file, env: ctx.env, paths: ctx.paths }, 'salvage');
  return {
    config: reading.config,
    given: reading.given,
    exists: reading.found === 'read',
    ...(reading.lineProblems.length > 0 ? { problem: reading.lineProblems.join('\n') } : {}),
  };
}

/**
 * The venvs of one kind that stay, only those that exist: the one the update recorded
 * in the state (the validator runs on it; the update does not rewrite the config's key),
 * else the one the config names; and the config's own when it is another folder.
 */
function keptVenvs(what: string, recorded: string | undefined, named: string | undefined, key: string): UninstallPlan['kept'] {
  const out: UninstallPlan['kept'] = [];
  const inUse = recorded && fs.existsSync(recorded) ? recorded : named && fs.existsSync(named) ? named : undefined;
  if (inUse) out.push({ what, path: inUse });
  if (named && named !== inUse && fs.existsSync(named)) out.push({ what: `older ${what} the config still names (${key})`, path: named });
  return out;
}

export function planUninstall(
  ctx: Context,
  namespace: string,
  observed: { scheduler: SchedulerStatus; schedulerSteps?: string[]; processes: Pm2Process[]; keepProcesses: boolean },
): UninstallPlan {
  const configFile = ctx.paths.autoupdateConfig(namespace);
  const { config, given, problem, exists } = readNamed(ctx, configFile);
  const kept: UninstallPlan['kept'] = [];
  const repo = given.has('REPO_DIR') ? config.repoDir : undefined;
  if (repo) {
    kept.push({ what: 'deploy clone', path: repo });
    const envFile = config.validatorEnvFile;
    kept.push({ what: 'validator env files', path: envFile ?? path.join(repo, 'env') });
  }
  const recorded = readState(ctx.paths.state(namespace), ctx.now()).venvs?.current ?? {};
  kept.push(...keptVenvs('validator venv', recorded.validator, config.validatorVenvDir, 'VALIDATOR_VENV_DIR'));
  kept.push(...keptVenvs('Validation API venv', recorded.api, config.validationVenvDir, 'VALIDATION_VENV_DIR'));
  const prepared = path.join(ctx.env.XDG_DATA_HOME && path.isAbsolute(ctx.env.XDG_DATA_HOME) ? ctx.env.XDG_DATA_HOME : path.join(ctx.paths.home, '.local', 'share'), 'alphacore', 'venvs');
  if (fs.existsSync(prepared)) kept.push({ what: 'prepared venvs (shared by every namespace)', path: prepared });
  const processes = observed.keepProcesses ? [] : observed.processes.map((p) => ({ name: p.name, pmId: p.pmId }));
  if (observed.keepProcesses) for (const p of observed.processes) kept.push({ what: `PM2 process (--keep-processes), id ${p.pmId}`, path: p.name });
  const pm2Home = ctx.env.PM2_HOME || path.join(ctx.paths.home, '.pm2');
  kept.push({ what: 'PM2 itself and its log files (pm2 flush empties them)', path: pm2Home });
  return {
    namespace,
    ...(exists ? { configFile } : {}),
    lockfile: given.has('AUTOUPDATE_LOCKFILE') ? config.lockfile : ctx.paths.lock(namespace),
    ...(observed.scheduler.kind === 'systemd' || observed.scheduler.kind === 'cron' ? { scheduler: observed.scheduler } : {}),
    schedulerSteps: observed.schedulerSteps ?? [],
    emptyFolders: foldersToTidy(ctx).filter((dir) => fs.existsSync(dir)),
    processes,
    stateFiles: namespaceStateFiles(ctx, namespace),
    kept,
    ...(problem ? { configProblem: problem } : {}),
  };
}

/**
 * Folders launch and the timer create that nothing else needs once they are empty:
 * innermost first, so that a parent emptied by its child's removal goes too.
 */
export function foldersToTidy(ctx: Context): string[] {
  const { autoupdateConfigDir, autoupdateStateDir, systemdUserDir } = ctx.paths;
  const timers = path.join(userDataDir(ctx), 'systemd', 'timers');
  return [
    autoupdateConfigDir, path.dirname(autoupdateConfigDir), autoupdateStateDir, path.dirname(autoupdateStateDir),
    path.join(systemdUserDir, 'timers.target.wants'), systemdUserDir, path.dirname(systemdUserDir), timers, path.dirname(timers),
  ];
}

export function nothingToRemove(plan: UninstallPlan): boolean {
  return !plan.configFile && !plan.scheduler && plan.schedulerSteps.length === 0 && plan.processes.length === 0 && plan.stateFiles.length === 0;
}

/** The plan as the operator reads it before confirming. */
export function describePlan(plan: UninstallPlan): string[] {
  const lines = [`alphacore uninstall: namespace ${plan.namespace}`, 'Will remove:'];
  if (plan.scheduler) lines.push(`  the auto-update ${plan.scheduler.kind === 'systemd' ? `timer ${plan.scheduler.unit}` : `crontab line (${plan.scheduler.cronLine})`}:`);
  else if (plan.schedulerSteps.length > 0) lines.push('  what is left of an auto-update timer:');
  // The scheduler's own dry-run lines ("Would remove X."), read as the steps they are.
  for (const step of plan.schedulerSteps) lines.push(`    ${step.replace(/^Would (\w)/, (_m, c: string) => c)}`);
  for (const p of plan.processes) lines.push(`  PM2 process ${p.name} (id ${p.pmId}): stopped and deleted`);
  if (plan.configFile) lines.push(`  the auto-update config ${plan.configFile}`);
  if (plan.stateFiles.length > 0) lines.push(`  the updater's log, state and history: ${plan.stateFiles.map((f) => path.basename(f)).join(', ')}`);
  if (plan.emptyFolders.length > 0) lines.push(`  then each of these folders that is left empty: ${plan.emptyFolders.join(', ')}`);
  lines.push('Will leave:', ...plan.kept.map((k) => `  ${k.what}: ${k.path}`));
  if (plan.configProblem) lines.push(`(some lines of the config could not be read, so what they name is not listed: ${plan.configProblem.split('\n')[0]})`);
  return lines;
}

export { DEFAULTS };

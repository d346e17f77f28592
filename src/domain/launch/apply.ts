import fs from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../../adapters/atomic-write.js';
import { readIfExists } from '../../adapters/files.js';
import { openPm2, type Pm2, type Pm2App, type Pm2Process } from '../../adapters/pm2.js';
import { pm2DaemonLink, type Pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import { describeFailure, run } from '../../adapters/shell.js';
import type { Context } from '../../core/context.js';
import { OperationError } from '../../core/errors.js';
import { awaitHealthyValidator } from './health.js';
import { guardNamespace, replaceValidators } from './namespace-guard.js';
import type { LaunchPlan, PlannedFile } from './plan.js';
import type { SchedulerReport } from '../../scheduler/index.js';
import { bootstrapVenv, inspectVenv, plainSteps, venvHowTo, type StepIo } from './venv.js';
import { writeStep } from './writable.js';

export type FileChange = 'created' | 'updated' | 'unchanged' | 'mode-fixed';

/** Writes a planned file only when its content or mode differs (idempotent launch). */
export async function writePlanned(file: PlannedFile): Promise<FileChange> {
  const current = readIfExists(file.path);
  if (current === file.content) {
    if ((fs.statSync(file.path).mode & 0o777) === file.mode) return 'unchanged';
    // Rewritten rather than chmod-ed: the mode is set on a descriptor of our own file,
    // never through a path that might have become a link since it was read.
    writeAtomic(file.path, file.content, { mode: file.mode, dirMode: file.dirMode, durable: true });
    return 'mode-fixed';
  }
  writeAtomic(file.path, file.content, { mode: file.mode, dirMode: file.dirMode, durable: true });
  return current === undefined ? 'created' : 'updated';
}

/** Whether a running process already is this app, started with these settings. */
export function sameApp(existing: Pm2Process, app: Pm2App): boolean {
  if (existing.status !== 'online' || existing.script !== app.script || existing.cwd !== app.cwd) return false;
  return Object.entries(app.env).every(([k, v]) => existing.env?.[k] === v);
}

/** Fails before anything changes when the validator cannot start: no venv and no way to make one, or no pm2. */
export async function preflight(ctx: Context, plan: LaunchPlan, pm2: Pm2): Promise<{ createVenvWith?: string; replace: Pm2Process[] }> {
  const { venvDir, repoDir } = plan.options;
  const venv = await inspectVenv(ctx, venvDir);
  if (venv.kind === 'missing') {
    throw new OperationError(`The validator venv ${venvDir} does not exist and cannot be created here (${venv.reason}). ${venvHowTo(venvDir, repoDir)} Nothing was changed.`);
  }
  const available = await pm2.available();
  if (!available.ok) {
    throw new OperationError(`PM2 is not usable: ${available.detail}. Nothing was changed.`);
  }
  // The update relaunches the namespace's one validator: only a first launch can add a second.
  const replace = plan.purpose === 'launch' ? await guardNamespace(pm2, plan.pm2App, plan.options.replace) : [];
  return { createVenvWith: venv.kind === 'create' || venv.kind === 'incomplete' ? venv.python : undefined, replace };
}

/**
 * Through the ecosystem file unless a process of the same name lives in another
 * namespace: PM2 matches ecosystem apps by name across namespaces and would restart
 * that process into ours. Then the wrapper directly, with the file's policy.
 */
async function startPlan(ctx: Context, pm2: Pm2, app: Pm2App): Promise<Pm2App> {
  if (!app.ecosystem) return app;
  const clash = (await pm2.list()).find((p) => p.name === app.name && p.namespace !== app.namespace);
  if (!clash) return app;
  ctx.stdout(`A PM2 process named ${app.name} runs in namespace ${clash.namespace}; starting the wrapper directly (same restart policy and logs as ${app.ecosystem}) so that it is left alone.\n`);
  return { ...app, ecosystem: undefined };
}

/**
 * (Re)starts the validator: replaces a process of the same name in the namespace (by
 * id; nothing else is touched). A launch whose process already runs with exactly these
 * settings leaves it running, so that re-running launch never costs a round.
 */
export async function startValidator(ctx: Context, plan: LaunchPlan, pm2: Pm2, options: { envFileChanged: boolean; force: boolean }): Promise<{ proc: Pm2Process; leftRunning: boolean }> {
  const app = plan.pm2App;
  const existing = (await pm2.list(app.namespace)).filter((p) => p.name === app.name);
  if (!options.force && !options.envFileChanged && existing.length === 1 && sameApp(existing[0]!, app)) {
    ctx.stdout(`PM2 process ${app.name} (namespace ${app.namespace}) already runs with these settings (pid ${existing[0]!.pid}); left running. Restart it with: pm2 restart ${existing[0]!.pmId}\n`);
    return { proc: existing[0]!, leftRunning: true };
  }
  if (existing.length > 0) {
    await pm2.deleteProcess(app.name, app.namespace);
    ctx.stdout(`Replaced the previous PM2 process ${app.name} in namespace ${app.namespace}.\n`);
  }
  const logDir = app.env.LOG_DIR;
  // launch_pm2.sh makes it too: PM2 does not create a missing log folder.
  if (logDir) await writeStep(`the log folder ${logDir}`, 'Make it writable by this user and run launch again.', () => fs.promises.mkdir(logDir, { recursive: true }));
  const how = await startPlan(ctx, pm2, app);
  await pm2.startApp(how);
  const started = (await pm2.list(app.namespace)).find((p) => p.name === app.name);
  if (!started) throw new OperationError(`pm2 start reported success but ${app.name} is not in namespace ${app.namespace}; see pm2 logs ${app.name}.`);
  const through = how.ecosystem ? `through ${how.ecosystem}` : `with ${app.script}`;
  ctx.stdout(`Started ${app.name} in PM2 namespace ${app.namespace} ${through} (entry point ${app.env.ENTRYPOINT}, status ${started.status}, pid ${started.pid}).\n`);
  return { proc: started, leftRunning: false };
}

/**
 * A launch that fails after starting the validator removes what it started (by name, in
 * its namespace only): left in PM2, an unhealthy validator crash-loops, and PM2's
 * resurrect would bring it back. Says what it removed, or how to remove it.
 */
async function removeStarted(pm2: Pm2, app: Pm2App, pmId: number): Promise<string> {
  try {
    const removed = await pm2.deleteProcess(app.name, app.namespace);
    return removed
      ? `Removed the PM2 process it started, ${app.name} (namespace ${app.namespace}); no other process was touched.`
      : `PM2 process ${app.name} (namespace ${app.namespace}) is gone already; nothing else was touched.`;
  } catch (error) {
    return `Could not remove the PM2 process it started, ${app.name} (namespace ${app.namespace}): ${(error as Error).message}. Remove it with: pm2 delete ${pmId}`;
  }
}

async function register(ctx: Context, argv: string[]): Promise<void> {
  const bin = ctx.env.BTCLI_BIN || 'btcli';
  ctx.stdout(`Registering: ${bin} ${argv.join(' ')}\n`);
  const result = await run(bin, argv, { env: ctx.env, timeoutMs: 15 * 60_000, interactive: true });
  if (result.notFound) throw new OperationError(`${bin} is not on PATH: install bittensor-cli (pip install bittensor-cli) or drop --register. Nothing was changed.`);
  if (!result.ok) throw new OperationError(`Registration failed (${describeFailure(result)}); nothing else was changed. Run it by hand or drop --register.`);
}

const verb: Record<FileChange, string> = { created: 'Wrote', updated: 'Updated', unchanged: 'Unchanged:', 'mode-fixed': 'Fixed the mode of' };

/** What applying a plan did (the `result` of `launch --json`). */
export interface ApplyResult {
  venvCreated: boolean;
  envFile: FileChange;
  process: { name: string; namespace: string; pmId: number; pid: number; status: string };
  autoupdateConfig?: FileChange;
  scheduler?: SchedulerReport;
}

/**
 * Carries out a plan: venv, registration, env file, PM2, save, then config and scheduler
 * (launch only). `steps` shows the long ones as phases (launch's progress) and keeps
 * subprocess output in the log; a relaunch inside an update runs them quietly.
 */
export async function applyPlan(ctx: Context, plan: LaunchPlan, purpose: 'launch' | 'relaunch', steps: StepIo = plainSteps(ctx), daemon?: Pm2DaemonLink): Promise<ApplyResult> {
  // The update's relaunch shares the run's connection to the PM2 daemon (fewer CLI calls
  // while the validator is down); launch opens its own when a daemon already runs, so its
  // health wait polls over the socket instead of a `pm2 jlist` per poll on a loaded machine.
  const link = daemon ?? pm2DaemonLink(ctx, ctx.env.PM2_BIN || 'pm2');
  try {
    return await applyWith(ctx, plan, purpose, steps, openPm2(ctx, { daemon: link }));
  } finally {
    if (!daemon) link.close();
  }
}

async function applyWith(ctx: Context, plan: LaunchPlan, purpose: 'launch' | 'relaunch', steps: StepIo, pm2: Pm2): Promise<ApplyResult> {
  // An interval the scheduler cannot express (90s for cron) is bad input: refuse it
  // before anything is written or started, not after the validator runs.
  if (plan.scheduler) {
    const { installScheduler } = await import('../../scheduler/index.js');
    await installScheduler(ctx, { ...plan.scheduler, dryRun: true });
  }
  const { createVenvWith, replace } = await preflight(ctx, plan, pm2);
  const { venvDir, repoDir } = plan.options;
  if (createVenvWith) {
    await writeStep(`the validator venv ${venvDir}`, 'Pass --venv-dir with a folder this user can write (or an existing venv); nothing was started.', () =>
      bootstrapVenv(ctx, venvDir, repoDir, createVenvWith, steps),
    );
  }
  if (plan.register) await register(ctx, plan.register);
  const envChange = await writeStep(`the validator env file ${plan.envFile.path}`, 'Pass --env-out with a path in a folder this user can write; the validator was not (re)started.', () => writePlanned(plan.envFile));
  ctx.stdout(`${verb[envChange]} validator env file ${plan.envFile.path} (mode 0600).\n`);
  // The round lockfile's folder: private (0700), so no other user can plant the file.
  const lockDir = path.dirname(plan.options.roundLockfile);
  await writeStep(`the round lockfile's folder ${lockDir}`, 'Pass --round-lockfile with a path in a folder this user can write; the validator was not (re)started.', () =>
    fs.promises.mkdir(lockDir, { recursive: true, mode: 0o700 }),
  );
  await replaceValidators(ctx, pm2, plan.pm2App, replace);
  const { proc, leftRunning } = await steps.phase(`Starting ${plan.pm2App.name} under PM2`, () =>
    startValidator(ctx, plan, pm2, { envFileChanged: envChange === 'created' || envChange === 'updated', force: purpose === 'relaunch' }),
  );
  // The update checks health itself after a relaunch (and rolls back); launch waits here,
  // and saves only a healthy validator for PM2's resurrect.
  const health = plan.health;
  if (health) {
    try {
      await steps.phase(`Waiting for ${plan.pm2App.name} to be healthy`, () => awaitHealthyValidator(ctx, pm2, plan.pm2App, proc, health, leftRunning));
    } catch (error) {
      if (leftRunning || !(error instanceof OperationError)) throw error;
      throw new OperationError(`${error.message}
${await removeStarted(pm2, plan.pm2App, proc.pmId)}`, { cause: error });
    }
  }
  // The update saves the list itself once the relaunched validator is healthy (or rolled
  // back): a save here would sit between the start and its first health check.
  if (purpose === 'launch') {
    await pm2.save();
    ctx.stdout(`Saved the PM2 process list (pm2 save): PM2's startup script restores it after a reboot (set that up once with \`pm2 startup\`).\n`);
  }
  ctx.stdout(`Logs: pm2 logs ${plan.pm2App.name}   (PM2 id ${proc.pmId}; all processes: pm2 ls)\n`);
  const result: ApplyResult = {
    venvCreated: Boolean(createVenvWith),
    envFile: envChange,
    process: { name: proc.name, namespace: proc.namespace, pmId: proc.pmId, pid: proc.pid, status: proc.status },
  };
  if (!plan.autoupdateConfig) return result;
  const config = plan.autoupdateConfig;
  result.autoupdateConfig = await writeStep(`the auto-update config ${config.path}`, 'The validator runs; make that folder writable by this user and run launch again to install auto-update.', () => writePlanned(config));
  ctx.stdout(`${verb[result.autoupdateConfig]} auto-update config ${plan.autoupdateConfig.path} (mode 0600).\n`);
  if (!plan.scheduler) {
    ctx.stdout(`${await noAutoupdateNote(ctx, plan.options.namespace, plan.autoupdateConfig.path)}\n`);
    return result;
  }
  const { installScheduler } = await import('../../scheduler/index.js');
  try {
    const request = plan.scheduler;
    result.scheduler = await steps.phase('Installing the auto-update timer', () => installScheduler(ctx, request));
    for (const line of result.scheduler.lines) ctx.stdout(`${line}\n`);
    return result;
  } catch (error) {
    if (error instanceof OperationError) {
      throw new OperationError(`The validator runs, but the auto-update scheduler could not be installed: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * --no-autoupdate installs nothing and removes nothing: a timer or crontab line an
 * earlier launch installed for the namespace stays, and keeps updating it. Say which.
 */
export async function noAutoupdateNote(ctx: Context, namespace: string, configPath: string): Promise<string> {
  const { schedulerStatus } = await import('../../scheduler/index.js');
  const status = await schedulerStatus(ctx, namespace);
  // An installed timer this session cannot ask about (status.unreachable) is installed all the same.
  if (status.kind === 'systemd' || status.kind === 'cron' || status.unreachable) {
    const what = status.kind === 'cron' ? `crontab line (${status.cronLine ?? 'see crontab -l'})` : `systemd timer ${status.unit ?? ''}`.trim();
    return `Auto-update is still installed for namespace ${namespace}: --no-autoupdate left the ${what} as it is, and it keeps updating this validator. Remove it with: alphacore autoupdate disable --namespace ${namespace}`;
  }
  const unknown = status.kind === 'unknown' ? ` (whether an earlier timer or crontab line is installed: ${status.detail}; see alphacore autoupdate status --namespace ${namespace})` : '';
  return `Auto-update not installed (--no-autoupdate)${unknown}. Enable it later with: alphacore autoupdate enable --config ${configPath}`;
}

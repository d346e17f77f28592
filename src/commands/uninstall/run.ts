import fs from 'node:fs';
import path from 'node:path';
import { tryLock } from '../../adapters/lock.js';
import { openPm2 } from '../../adapters/pm2.js';
import type { Context } from '../../core/context.js';
import { DEFAULTS } from '../../core/config.js';
import { OperationError, UserError } from '../../core/errors.js';
import { removeScheduler, schedulerStatus } from '../../scheduler/index.js';
import { checkNamespace } from '../../scheduler/spec.js';
import { pm2Processes } from '../../domain/pm2-processes.js';
import { describePlan, namespaceStateFiles, nothingToRemove, planUninstall } from './plan.js';

export interface UninstallFlags {
  namespace?: string;
  keepProcesses: boolean;
  yes: boolean;
  json: boolean;
}

/** Asks a yes/no question on the terminal; undefined when there is no terminal to ask on. */
export type Confirm = ((question: string) => Promise<boolean>) | undefined;

/** Removes each folder that is empty (other namespaces' or the operator's files keep it); returns those removed. */
function removeIfEmpty(dirs: readonly string[]): string[] {
  const removed: string[] = [];
  for (const dir of dirs) {
    try {
      fs.rmdirSync(dir);
      removed.push(dir);
    } catch {
      // not empty, or not there
    }
  }
  return removed;
}

/**
 * `alphacore uninstall`: the reverse of launch for one namespace. Removes the
 * timer or crontab line (only this namespace's), the namespace's PM2 processes (by id,
 * unless --keep-processes), the auto-update config and the updater's log and state;
 * leaves the deploy clone, the env files and the venvs, and says so. Asks first, unless --yes.
 */
export async function runUninstall(ctx: Context, flags: UninstallFlags, confirm: Confirm): Promise<number> {
  if (ctx.uid === 0) {
    throw new UserError('uninstall refuses to run as root.', { hint: 'Run it as the validator\'s user, the one that ran alphacore launch (e.g. sudo -iu <user> alphacore uninstall).' });
  }
  const namespace = flags.namespace ?? DEFAULTS.PM2_NAMESPACE;
  checkNamespace(namespace);
  const cannotAsk = !flags.yes && (flags.json || !confirm);
  const [scheduler, pm2View, preview] = await Promise.all([schedulerStatus(ctx, namespace), pm2Processes(ctx, namespace), removeScheduler(ctx, namespace, { dryRun: true })]);
  const schedulerSteps = preview.kind === 'none' ? [] : preview.lines;
  const plan = planUninstall(ctx, namespace, { scheduler, schedulerSteps, processes: pm2View.procs, keepProcesses: flags.keepProcesses });
  const print = (lines: string[]) => {
    if (!flags.json) ctx.stdout(lines.map((l) => `${l}\n`).join(''));
  };
  if (nothingToRemove(plan)) {
    if (flags.json) ctx.stdout(`${JSON.stringify({ namespace, removed: [], kept: plan.kept })}\n`);
    print([`Nothing to remove for namespace ${namespace}: no config, timer, crontab line, PM2 process or updater file.`]);
    return 0;
  }
  // Without a way to ask, the preview still shows what --yes would remove (read-only).
  print(describePlan(plan));
  if (cannotAsk) {
    throw new UserError(`uninstall asks before it removes anything, and ${flags.json ? '--json leaves no way to ask' : 'there is no terminal to ask on'}.`, {
      hint: `Pass --yes to remove what is listed above: alphacore uninstall --namespace ${namespace} --yes${flags.keepProcesses ? ' --keep-processes' : ''}. Nothing was changed.`,
    });
  }
  if (!flags.yes && !(await confirm!(`Remove these for namespace ${namespace}? [y/N] `))) {
    print(['Nothing was changed.']);
    return 1;
  }

  // No update may start (or be half-way) while its config and processes go. Taking the
  // lock may create its file: that one is ours, removed below and not reported.
  const lockExisted = fs.existsSync(plan.lockfile);
  const lock = await tryLock(plan.lockfile, ctx.env);
  if (!lock) throw new OperationError(`an update of namespace ${namespace} is running now; nothing was changed. Run alphacore uninstall again when it has finished (alphacore status shows it).`);
  const removed: string[] = [];
  try {
    const scheduled = await removeScheduler(ctx, namespace);
    if (scheduled.kind !== 'none') removed.push(...scheduled.lines);
    if (plan.processes.length > 0) {
      const pm2 = openPm2(ctx);
      const gone = await pm2.deleteNamespace(namespace);
      // Else PM2's startup script would bring them back at the next boot.
      await pm2.save();
      removed.push(`Stopped and deleted the PM2 processes of namespace ${namespace}: ${gone.join(', ')}; saved the PM2 process list (pm2 save).`);
    }
    if (plan.configFile) {
      fs.rmSync(plan.configFile, { force: true });
      removed.push(`Removed the auto-update config ${plan.configFile}.`);
    }
  } finally {
    await lock.release();
  }
  // After the lock is released: its own files are among the namespace's state files.
  const stateFiles = namespaceStateFiles(ctx, namespace);
  for (const file of stateFiles) fs.rmSync(file, { recursive: true, force: true });
  if (!lockExisted) fs.rmSync(plan.lockfile, { force: true });
  const reported = stateFiles.filter((f) => lockExisted || f !== plan.lockfile);
  if (reported.length > 0) removed.push(`Removed the updater's files: ${reported.map((f) => path.basename(f)).join(', ')} (in ${ctx.paths.autoupdateStateDir}).`);
  const folders = removeIfEmpty(plan.emptyFolders);
  if (folders.length > 0) removed.push(`Removed the folders left empty: ${folders.join(', ')}.`);

  if (flags.json) {
    ctx.stdout(`${JSON.stringify({ namespace, removed, kept: plan.kept })}\n`);
    return 0;
  }
  print(['', ...removed, '', 'Left in place (remove them yourself when you no longer need them):', ...plan.kept.map((k) => `  ${k.what}: ${k.path}`), `Other namespaces were not touched. To set this namespace up again: alphacore launch ... --pm2-namespace ${namespace}`]);
  return 0;
}

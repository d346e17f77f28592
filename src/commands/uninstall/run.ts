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

function removeIfEmpty(dirs: string[]): void {
  for (const dir of dirs) {
    try {
      fs.rmdirSync(dir); // only when empty: other namespaces' files keep it
    } catch {
      // not empty, or not there
    }
  }
}

/**
 * `alphacore uninstall` (issue 12): the reverse of launch for one namespace. Removes the
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
  if (!flags.yes && (flags.json || !confirm)) {
    throw new UserError(`uninstall asks before it removes anything, and ${flags.json ? '--json leaves no way to ask' : 'there is no terminal to ask on'}.`, {
      hint: `Pass --yes to confirm: alphacore uninstall --namespace ${namespace} --yes${flags.keepProcesses ? ' --keep-processes' : ''}. Nothing was changed.`,
    });
  }
  const [scheduler, pm2View] = await Promise.all([schedulerStatus(ctx, namespace), pm2Processes(ctx, namespace)]);
  const plan = planUninstall(ctx, namespace, { scheduler, processes: pm2View.procs, keepProcesses: flags.keepProcesses });
  const print = (lines: string[]) => {
    if (!flags.json) ctx.stdout(lines.map((l) => `${l}\n`).join(''));
  };
  if (nothingToRemove(plan)) {
    if (flags.json) ctx.stdout(`${JSON.stringify({ namespace, removed: [], kept: plan.kept })}\n`);
    print([`Nothing to remove for namespace ${namespace}: no config, timer, crontab line, PM2 process or updater file.`]);
    return 0;
  }
  print(describePlan(plan));
  if (!flags.yes && !(await confirm!(`Remove these for namespace ${namespace}? [y/N] `))) {
    print(['Nothing was changed.']);
    return 1;
  }

  // No update may start (or be half-way) while its config and processes go.
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
  if (stateFiles.length > 0) removed.push(`Removed the updater's files: ${stateFiles.map((f) => path.basename(f)).join(', ')} (in ${ctx.paths.autoupdateStateDir}).`);
  const { autoupdateConfigDir, autoupdateStateDir } = ctx.paths;
  removeIfEmpty([autoupdateConfigDir, path.dirname(autoupdateConfigDir), autoupdateStateDir, path.dirname(autoupdateStateDir)]);

  if (flags.json) {
    ctx.stdout(`${JSON.stringify({ namespace, removed, kept: plan.kept })}\n`);
    return 0;
  }
  print(['', ...removed, '', 'Left in place (remove them yourself when you no longer need them):', ...plan.kept.map((k) => `  ${k.what}: ${k.path}`), `Other namespaces were not touched. To set this namespace up again: alphacore launch ... --pm2-namespace ${namespace}`]);
  return 0;
}

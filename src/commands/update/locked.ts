import { lockHolders } from '../../adapters/lock-holder.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { formatDuration } from '../../core/duration.js';
import type { UpdateLog } from '../../core/log.js';
import { describeHolders, lockWatchFile, observeHeldLock, readLockWatch, writeLockWatch } from '../../domain/lock-watch.js';
import { RUN_BUDGET_MS } from './budget.js';
import { notify } from './record.js';

/**
 * A run that found the overlap lock held (DESIGN.md §5 step 2): names the holder, and
 * once the lock has been held longer than a run's budget says so loudly (the log, the
 * lock-watch record that status shows, the webhook once per holder): a lock nobody
 * releases must not look like a quiet `locked` every two minutes forever.
 */
export async function reportHeldLock(input: { ctx: Context; config: AutoupdateConfig; log: UpdateLog; dryRun: boolean }): Promise<void> {
  const { ctx, config, log } = input;
  const holders = lockHolders(config.lockfile);
  const file = lockWatchFile(ctx.paths.autoupdateStateDir, config.namespace);
  const nowMs = ctx.now().getTime();
  const watch = observeHeldLock(readLockWatch(file), config.lockfile, holders, nowMs, RUN_BUDGET_MS);
  const who = describeHolders(holders);
  const foreign = holders.filter((h) => h.alive && h.uid !== undefined && h.uid !== ctx.uid);
  const notOurs = foreign.length > 0 ? ` ${describeHolders(foreign)} is another user's process: update runs are this user's, so it is not one of them.` : '';
  if (!watch.overBudget) {
    log.info(`the updater lock ${config.lockfile} is held by ${who} (seen since ${watch.since}); nothing to do this run.${notOurs}`);
  } else {
    const held = formatDuration(nowMs - Date.parse(watch.since));
    const end = holders.filter((h) => h.alive).map((h) => h.pid);
    log.error(
      `the updater lock ${config.lockfile} has been held by ${who} for at least ${held} (since ${watch.since}), longer than a run's budget (${formatDuration(RUN_BUDGET_MS)}): no update runs while it is held.${notOurs} ` +
        `Find out what it is (ps -o pid,user,etime,args -p ${end.join(',') || '<pid>'}); end it if it is stuck${end.length > 0 ? ` (kill ${end.join(' ')})` : ''}.`,
    );
  }
  if (input.dryRun) return; // a dry run records and tells nothing
  const tell = watch.overBudget && !watch.notified && Boolean(config.notifyWebhookUrl);
  if (tell) watch.notified = true;
  try {
    writeLockWatch(file, watch);
  } catch (error) {
    log.warn(`cannot record the held lock in ${file}: ${(error as Error).message}`);
  }
  if (tell) {
    const summary = `the updater lock has been held by ${who} since at least ${watch.since}, longer than a run's budget; no update runs until it is released`;
    await notify(config.notifyWebhookUrl!, config.namespace, log, [{ outcome: 'locked', reason: 'lock-held-too-long', summary }]);
  }
}

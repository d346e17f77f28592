import { userManagerAvailable } from '../adapters/systemd.js';
import type { Context } from '../core/context.js';

/**
 * Which scheduler an install would use now: the systemd user timer when `systemctl
 * --user` answers, else a crontab line (the choice installScheduler makes). Validation
 * asks it so that an interval only systemd can run (7m) is refused with the other
 * problems, before anything is written.
 */
export async function schedulerBackend(ctx: Context): Promise<'systemd' | 'cron'> {
  return (await userManagerAvailable(ctx)).ok ? 'systemd' : 'cron';
}

import { readIfExists } from '../adapters/files.js';
import { crontabAvailable, readCrontab } from '../adapters/cron.js';
import type { Context } from '../core/context.js';
import { findLine } from './crontab-edit.js';
import { unitFiles } from './systemd-backend.js';

/**
 * Whether the namespace's installed timer (its systemd unit or drop-in) or crontab line
 * runs `alphacore update --config <file>` (an absolute path). When it cannot tell (the
 * crontab cannot be read), it answers yes: a config error is then recorded as before.
 */
export async function timerRunsConfig(ctx: Context, namespace: string, file: string): Promise<boolean> {
  const files = unitFiles(ctx, namespace);
  for (const unit of [files.serviceDropIn, files.service]) if (readIfExists(unit)?.includes(file)) return true;
  try {
    if (!(await crontabAvailable(ctx))) return false;
    return findLine(await readCrontab(ctx), namespace)?.includes(file) ?? false;
  } catch {
    return true;
  }
}

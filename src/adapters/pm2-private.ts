import path from 'node:path';
import type { Context } from '../core/context.js';
import { pm2Home } from './pm2-home.js';
import { tightenPath } from './private-mode.js';

/**
 * PM2_HOME 0700 and its process dumps 0600 (DESIGN.md §5.7): PM2 makes them 0755/0644,
 * and dump.pm2 holds the environment of every process it runs. Also an existing
 * ~/.pm2 of a bash-era setup; called after every `pm2 save`. Returns what changed.
 */
export function tightenPm2Home(ctx: Pick<Context, 'env' | 'paths'>): string[] {
  const home = pm2Home(ctx);
  const changed = [tightenPath(home, 0o700, { directory: true })];
  for (const dump of ['dump.pm2', 'dump.pm2.bak']) changed.push(tightenPath(path.join(home, dump), 0o600));
  return changed.filter((c): c is string => c !== undefined);
}

import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';

// Kept apart from pm2-daemon.ts: the timer's no-op run (metrics) needs PM2's home, not
// the code that loads the operator's pm2 package.

/** Where PM2 keeps its sockets: PM2_HOME, else ~/.pm2 (as pm2's paths.js decides). */
export function pm2Home(ctx: Pick<Context, 'env' | 'paths'>): string {
  return ctx.env.PM2_HOME || path.resolve(ctx.paths.home, '.pm2');
}

/** The pid the daemon of `home` wrote (pm2.pid), when it is a number. */
export function daemonPid(home: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

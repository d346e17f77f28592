import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '../../adapters/lock.js';
import { openPm2, type Pm2App, type Pm2Process } from '../../adapters/pm2.js';
import { pm2DaemonLink, pm2PackageRoot } from '../../adapters/pm2-daemon.js';
import { daemonPid, pm2Home } from '../../adapters/pm2-home.js';
import { findProgram } from '../../adapters/programs.js';
import type { Context } from '../../core/context.js';
import { OperationError } from '../../core/errors.js';
import { guardNamespace } from './namespace-guard.js';

/**
 * Whether PM2 is usable, for `launch --dry-run`, without running pm2: every pm2
 * command, `pm2 --version` included, spawns a daemon when none runs, and a dry run
 * starts nothing. It finds the program (PM2_BIN, else `pm2` on PATH), reads its
 * version from the package.json beside it, and tells whether a daemon runs for
 * PM2_HOME from the pid file the daemon writes.
 */
export function probePm2Quietly(ctx: Context): { ok: boolean; detail: string } {
  const name = ctx.env.PM2_BIN || 'pm2';
  const bin = findProgram(name, ctx.env.PATH, ctx.cwd);
  if (!bin) {
    return { ok: false, detail: `${name} not found${name.includes('/') ? ' or not executable' : ' on PATH'} (install PM2: npm install -g pm2, or set PM2_BIN)` };
  }
  const version = packageVersion(bin, ctx);
  const home = pm2Home(ctx);
  const pid = daemonPid(home);
  const daemon = pid !== undefined && isAlive(pid) ? `its daemon runs (pid ${pid}, PM2_HOME ${home})` : `no daemon runs for PM2_HOME ${home}; launch would start one`;
  return { ok: true, detail: `${bin}${version ? ` (pm2 ${version})` : ''}; ${daemon}` };
}

/** The version of the pm2 package the program belongs to (its package.json). */
function packageVersion(bin: string, ctx: Context): string | undefined {
  const root = pm2PackageRoot(bin, ctx.env.PATH, ctx.cwd);
  try {
    return root ? (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The namespace guard of a real launch (one validator per namespace), for --dry-run, so
 * that it refuses what launch would refuse (UserError, exit 2). Read-only: it lists the
 * processes of a daemon that already runs and starts none; without a daemon no
 * validator runs, and a PM2 that cannot list is reported by probePm2Quietly instead.
 * Returns the validators --replace would delete.
 */
export async function guardNamespaceQuietly(ctx: Context, app: Pm2App, replace: boolean): Promise<Pm2Process[]> {
  const pid = daemonPid(pm2Home(ctx));
  if (pid === undefined || !isAlive(pid)) return [];
  const link = pm2DaemonLink(ctx, ctx.env.PM2_BIN || 'pm2');
  try {
    return await guardNamespace(openPm2(ctx, { daemon: link }), app, replace);
  } catch (error) {
    if (error instanceof OperationError) return [];
    throw error;
  } finally {
    link.close();
  }
}

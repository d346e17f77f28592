import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '../../adapters/lock.js';
import type { Context } from '../../core/context.js';

/**
 * Whether PM2 is usable, for `launch --dry-run`, without running pm2: every pm2
 * command, `pm2 --version` included, spawns a daemon when none runs, and a dry run
 * starts nothing. It finds the program (PM2_BIN, else `pm2` on PATH), reads its
 * version from the package.json beside it, and tells whether a daemon runs for
 * PM2_HOME from the pid file the daemon writes.
 */
export function probePm2Quietly(ctx: Context): { ok: boolean; detail: string } {
  const name = ctx.env.PM2_BIN || 'pm2';
  const bin = name.includes('/') ? path.resolve(ctx.cwd, name) : findOnPath(name, ctx.env.PATH ?? '');
  if (!bin || !executable(bin)) {
    return { ok: false, detail: `${name} not found${name.includes('/') ? ' or not executable' : ' on PATH'} (install PM2: npm install -g pm2, or set PM2_BIN)` };
  }
  const version = packageVersion(bin);
  const home = ctx.env.PM2_HOME || path.join(ctx.paths.home, '.pm2');
  const pid = daemonPid(home);
  const daemon = pid !== undefined && isAlive(pid) ? `its daemon runs (pid ${pid}, PM2_HOME ${home})` : `no daemon runs for PM2_HOME ${home}; launch would start one`;
  return { ok: true, detail: `${bin}${version ? ` (pm2 ${version})` : ''}; ${daemon}` };
}

function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(':')) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** pm2's bin is a symlink into its package (…/pm2/bin/pm2): its package.json has the version. */
function packageVersion(bin: string): string | undefined {
  try {
    const real = fs.realpathSync(bin);
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(real), '..', 'package.json'), 'utf8')) as { name?: string; version?: string };
    return pkg.name === 'pm2' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

function daemonPid(home: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

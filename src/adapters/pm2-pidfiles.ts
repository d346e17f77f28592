import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from './lock.js';

/** PM2's pid file name for an app: its name with what PM2 considers unsafe replaced (lib/Common.js). */
function pidFilePrefix(name: string): string {
  return `${name.replace(/[^a-zA-Z0-9.\\-]/g, '-')}-`;
}

/** The pids PM2's pid files name for an app (one per instance), whatever their liveness. */
export function pm2PidFilePids(pm2Home: string, name: string): number[] {
  let files: string[] = [];
  try {
    files = fs.readdirSync(path.join(pm2Home, 'pids'));
  } catch {
    return [];
  }
  const prefix = pidFilePrefix(name);
  const out: number[] = [];
  for (const f of files) {
    if (!f.startsWith(prefix) || !/^\d+\.pid$/.test(f.slice(prefix.length))) continue;
    try {
      const pid = Number(fs.readFileSync(path.join(pm2Home, 'pids', f), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) out.push(pid);
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

/**
 * Whether each named PM2 process runs, read from the pid files PM2 keeps in
 * `$PM2_HOME/pids/<name>-<id>.pid` (written at start, removed at stop and exit)
 * instead of asking PM2: a `pm2` call costs a Node start and a daemon round trip,
 * too much for the timer's every-two-minutes no-op run. 1 when a file names a live
 * process, else 0.
 */
export function probePm2PidFiles(pm2Home: string, names: readonly string[]): Record<string, number> {
  let files: string[] = [];
  try {
    files = fs.readdirSync(path.join(pm2Home, 'pids'));
  } catch {
    // No PM2 daemon ever ran for this home: nothing is up.
  }
  const out: Record<string, number> = {};
  for (const name of names) {
    const prefix = pidFilePrefix(name);
    const mine = files.filter((f) => f.startsWith(prefix) && /^\d+\.pid$/.test(f.slice(prefix.length)));
    out[name] = mine.some((f) => {
      try {
        return isAlive(Number(fs.readFileSync(path.join(pm2Home, 'pids', f), 'utf8').trim()));
      } catch {
        return false;
      }
    })
      ? 1
      : 0;
  }
  return out;
}

import fs from 'node:fs';
import path from 'node:path';
import { daemonPid } from './pm2-home.js';
import { running } from './pm2-orphans.js';
import { processTree } from './proc-net.js';

/**
 * How long a `pm2` command may wait without any PM2 daemon alive. Its own start of a
 * daemon takes about a second; a loaded machine may take a few.
 */
export const PM2_HANG_MS = 15_000;
export const PM2_HANG_EVERY_MS = 1000;

/** A PM2 CLI (`node .../pm2 ...`, `pm2 ...`), not its daemon (whose title is "PM2 v5...: God Daemon"). */
function isPm2Cli(pid: number): boolean {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  return argv.slice(0, 2).some((a) => path.basename(a) === 'pm2');
}

/**
 * A `pm2` command whose daemon dies under it (`pm2 kill` racing a `pm2 start`) waits for
 * an answer forever: PM2's CLI has no timeout of its own, so the repo's API script would
 * hold the swap for its whole 5-minute cap, the validator down. This check, for
 * shell.run's `watch`, names such a command: a PM2 CLI in the program's process tree
 * while no PM2 daemon of `home` has been alive for `graceMs`.
 */
export function pm2HangCheck(home: string, now: () => number = Date.now, graceMs = PM2_HANG_MS): (pid: number) => string | undefined {
  let since: number | undefined;
  return (pid) => {
    const daemon = daemonPid(home);
    const cli = daemon !== undefined && running(daemon) ? undefined : processTree(pid).find(isPm2Cli);
    if (cli === undefined) {
      since = undefined;
      return undefined;
    }
    since ??= now();
    if (now() - since < graceMs) return undefined;
    return `no PM2 daemon has run for ${Math.round(graceMs / 1000)}s while pm2 (pid ${cli}) waited for one: its daemon died under it (pm2 kill?)`;
  };
}

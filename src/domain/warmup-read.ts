import fs from 'node:fs';
import path from 'node:path';
import { judgeWarmup, parseWarmupLog, type WeightsView } from './warmup.js';

/** How much of the log's end is read: the warm-up needs the lines since the last start, not the whole file. */
export const WARMUP_TAIL_BYTES = 256 * 1024;

/** The validator's PM2 out log as the repo's pm2.config.js names it (LOG_DIR defaults to <repo>/logs/pm2). */
export function validatorOutLog(repoDir: string, processName: string): string {
  return path.join(repoDir, 'logs', 'pm2', `${processName}.out.log`);
}

/**
 * The last `maxBytes` of a regular file, never through a symlink nor blocking on a FIFO
 * (status may run as root on a clone another user can write). The first, cut line is
 * dropped. undefined with the reason when it cannot be read.
 */
export function readTail(file: string, maxBytes = WARMUP_TAIL_BYTES): { text: string; mtimeMs: number } | { problem: string } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `no validator log at ${file} (not started under PM2 yet, or another LOG_DIR)` };
    if (code === 'ELOOP') return { problem: `${file} is a symlink; not followed` };
    return { problem: `cannot read ${file} (${code ?? (error as Error).message})` };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { problem: `${file} is not a regular file` };
    const start = Math.max(0, stat.size - maxBytes);
    const buffer = Buffer.alloc(stat.size - start);
    const read = buffer.length > 0 ? fs.readSync(fd, buffer, 0, buffer.length, start) : 0;
    let text = buffer.subarray(0, read).toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return { text, mtimeMs: stat.mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * When PM2 last started the named process: the mtime of its live pid file in
 * `$PM2_HOME/pids` (PM2 writes it at every start). The fallback for a validator whose
 * start line has left the part of the log that is read.
 */
export function pm2ProcessStartMs(pm2Home: string, name: string): number | undefined {
  const prefix = `${name.replace(/[^a-zA-Z0-9.\\-]/g, '-')}-`;
  let files: string[];
  try {
    files = fs.readdirSync(path.join(pm2Home, 'pids')).filter((f) => f.startsWith(prefix) && /^\d+\.pid$/.test(f.slice(prefix.length)));
  } catch {
    return undefined;
  }
  const times = files.map((f) => {
    try {
      return fs.statSync(path.join(pm2Home, 'pids', f)).mtimeMs;
    } catch {
      return undefined;
    }
  });
  const known = times.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

/** Reads and judges the warm-up of a validator (cheap: one bounded read, one directory listing). */
export function observeWarmup(input: { log: string; pm2Home?: string; processName?: string }): WeightsView {
  const tail = readTail(input.log);
  const processStartMs = input.pm2Home && input.processName ? pm2ProcessStartMs(input.pm2Home, input.processName) : undefined;
  if ('problem' in tail) return judgeWarmup(undefined, { log: input.log, problem: tail.problem });
  return judgeWarmup(parseWarmupLog(tail.text), { log: input.log, ...(processStartMs !== undefined ? { processStartMs } : {}) });
}

import fs from 'node:fs';
import path from 'node:path';

/**
 * Files the toolkit owns (state, history, log): never followed through a symlink, so a
 * link planted at one of their paths (to a file of the operator's, or another user's)
 * is never written through. A link found there is replaced by our own regular file.
 * Whole-file replacement goes through atomic-write.ts.
 */

const { O_RDONLY, O_WRONLY, O_CREAT, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

export class NotRegularFile extends Error {
  constructor(
    readonly file: string,
    readonly kind: string,
  ) {
    super(`${file} is a ${kind}, not a regular file`);
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isDirectory()) return 'directory';
  if (stat.isFIFO()) return 'FIFO';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'device';
  return 'special file';
}

/**
 * Reads at most `maxBytes` of a regular file without following a symlink and without
 * blocking on a FIFO. undefined when absent; NotRegularFile for anything else there.
 */
export function readRegular(file: string, maxBytes = 4 * 1024 * 1024): { text: string; mtimeMs: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new NotRegularFile(file, 'symlink');
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new NotRegularFile(file, kindOf(stat));
    const buffer = Buffer.alloc(Math.min(maxBytes, Math.max(0, stat.size)));
    const read = buffer.length > 0 ? fs.readSync(fd, buffer, 0, buffer.length, 0) : 0;
    return { text: buffer.subarray(0, read).toString('utf8'), mtimeMs: stat.mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes a symlink or special file at `file` (never a directory's content); true when it did. */
export function removeIfNotRegular(file: string): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return false;
  }
  if (stat.isFile() || stat.isDirectory()) return false;
  fs.rmSync(file, { force: true });
  return true;
}

/** Opens `file` for appending without following a symlink (a link there is replaced). */
export function openOwnedAppend(file: string, mode = 0o600): number {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const open = () => fs.openSync(file, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, mode);
  try {
    const fd = open();
    if (!fs.fstatSync(fd).isFile()) {
      fs.closeSync(fd);
      throw new NotRegularFile(file, 'special file');
    }
    return fd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOOP' && !(error instanceof NotRegularFile)) throw error;
    if (!removeIfNotRegular(file)) throw error;
    return open();
  }
}

/** Appends one chunk to an owned file (see openOwnedAppend). */
export function appendOwned(file: string, text: string, mode = 0o600): void {
  const fd = openOwnedAppend(file, mode);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

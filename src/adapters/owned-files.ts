import fs from 'node:fs';
import path from 'node:path';

/**
 * Files the toolkit owns (state, history, log): never followed through a symlink, so a
 * link planted at one of their paths (to a file of the operator's, or another user's)
 * is never written through. A link found there is replaced by our own regular file.
 */

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

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

/**
 * Writes `content` atomically: a fresh temp file beside it (O_EXCL, never a link),
 * fsync, rename over the target. rename replaces a symlink at the target itself, never
 * what it points to. Throws the real error (ENOSPC included) for the caller to word.
 * `durable: false` skips the fsync, for content whose loss in a crash costs nothing
 * (the file on disk before is as good; see writeState).
 */
export function writeOwnedAtomic(file: string, content: string, mode = 0o600, options: { durable?: boolean } = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // O_EXCL makes the name safe; it only has to differ from a concurrent writer's. Not
  // crypto.randomBytes: loading node:crypto was ~7 ms of every timer run (issue 11).
  const temp = `${file}.${process.pid}.${Math.random().toString(16).slice(2, 10)}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    fs.writeFileSync(fd, content);
    if (options.durable !== false) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.chmodSync(temp, mode);
    fs.renameSync(temp, file);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
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

import fs from 'node:fs';
import path from 'node:path';

/**
 * The one way the toolkit replaces a file (state, metrics, env files, units, configs,
 * markers): a fresh temp file beside the target, then rename, so a reader sees the old
 * file or the new one, never half of one. Safe in a directory another user can write
 * (METRICS_DIR is often node_exporter's shared one, DESIGN.md §5.7):
 *   - the temp file is created with O_CREAT|O_EXCL|O_NOFOLLOW: a file or a symlink
 *     planted at its name makes the open fail (and another name is tried), it is never
 *     opened or followed;
 *   - it is created 0600 and given its mode (and owner) on the open descriptor, so
 *     no chmod or chown ever goes through a path someone could have swapped, and the
 *     umask does not take bits away;
 *   - rename replaces a symlink at the target itself, never what it points to.
 * Hand-written rather than write-file-atomic: the state is written by every timer run,
 * and that module cost the no-op run more than the write itself.
 */

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fs.constants;

export interface AtomicWriteOptions {
  /** The file's permission bits, whatever the umask. */
  mode: number;
  /**
   * fsync the file before the rename and the directory after it, so the new content
   * survives a power loss. Off for content whose loss costs nothing (the metrics file,
   * rewritten by the next run; a state without a journal).
   */
  durable?: boolean;
  /** Create the folder (and its missing parents) with this mode; without it the folder must exist. */
  dirMode?: number;
  /** Give the file to this user and group (root writing a file its user must own). */
  owner?: { uid: number; gid: number };
  /**
   * The random part of the temp name. O_EXCL makes any name safe, so Math.random is
   * enough (node:crypto cost every timer run a few ms to load); tests pass their own
   * to plant a link at the exact name.
   */
  random?: () => string;
}

/** Names tried before giving up when each is taken (planted files, or a concurrent writer). */
const ATTEMPTS = 8;

const defaultRandom = () => Math.random().toString(36).slice(2, 12).padEnd(10, '0');

/**
 * The temp name: hidden, and ending in `.tmp`, never in the target's extension, so a
 * collector that reads `*.prom` or systemd reading `*.service` never picks it up.
 */
export function tempNameFor(file: string, random: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${random}.tmp`);
}

function openTemp(file: string, random: () => string): { fd: number; temp: string } {
  for (let attempt = 1; ; attempt += 1) {
    const temp = tempNameFor(file, random());
    try {
      return { fd: fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600), temp };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= ATTEMPTS) throw error;
    }
  }
}

/**
 * Replaces `file` with `content` (see above). Throws the real error (ENOSPC, EACCES,
 * EISDIR...) for the caller to word; on any failure the temp file is gone and the old
 * file is untouched.
 */
export function writeAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions): void {
  if (options.dirMode !== undefined) fs.mkdirSync(path.dirname(file), { recursive: true, mode: options.dirMode });
  const { fd, temp } = openTemp(file, options.random ?? defaultRandom);
  let open = true;
  try {
    if (options.owner) fs.fchownSync(fd, options.owner.uid, options.owner.gid);
    fs.writeFileSync(fd, content);
    // After fchown: a change of owner may clear the set-id bits a mode asks for.
    fs.fchmodSync(fd, options.mode);
    if (options.durable) fs.fsyncSync(fd);
    fs.closeSync(fd);
    open = false;
    fs.renameSync(temp, file);
  } catch (error) {
    if (open) fs.closeSync(fd);
    removeTemp(temp);
    throw error;
  }
  if (options.durable) syncDirectory(path.dirname(file));
}

/** unlink, never a recursive removal: what is at the temp name now may not be ours. */
function removeTemp(temp: string): void {
  try {
    fs.unlinkSync(temp);
  } catch {
    // already gone (or never made)
  }
}

/** Makes the rename itself durable. A filesystem that cannot sync a directory (EINVAL) has nothing to make durable. */
function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    fs.closeSync(fd);
  }
}

import fs from 'node:fs';

/**
 * Removes the permission bits beyond `mode` from a file or directory of ours that a
 * bash-era setup (or a default umask) left open to other local users. Always on a
 * descriptor opened without following a link, so nothing another user swapped in is
 * changed; a file that is not ours (/tmp, another user's) is left alone. Returns
 * "<path> 0755 -> 0700" when it changed something.
 */
export function tightenPath(file: string, mode: number, options: { directory?: boolean } = {}): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | (options.directory ? fs.constants.O_DIRECTORY : 0));
  } catch {
    return undefined; // absent, a link, or not ours to open
  }
  try {
    return tightenFd(fd, file, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/** tightenPath on an open descriptor. */
export function tightenFd(fd: number, file: string, mode: number): string | undefined {
  const stat = fs.fstatSync(fd);
  const current = stat.mode & 0o7777;
  if (typeof process.getuid !== 'function' || stat.uid !== process.getuid() || (current & ~mode) === 0) return undefined;
  try {
    fs.fchmodSync(fd, current & mode);
  } catch {
    return undefined;
  }
  return `${file} ${current.toString(8).padStart(4, '0')} -> ${(current & mode).toString(8).padStart(4, '0')}`;
}

import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes a file atomically with the given mode, creating its folder: a temp file in the
 * same folder, written and fsynced, then renamed over the target, so a crash or a full
 * disk leaves the old file or the new one, never a torn one. (Hand-written rather than
 * write-file-atomic: the state file is written by every timer run, and that module with
 * its dependencies cost the no-op run more than the write itself; single writer per
 * file here, under the update lock.)
 */
export async function writeFileSafely(file: string, content: string, mode: number, dirMode = 0o700): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: dirMode });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeFileSync(fd, content);
      // The umask may have taken bits away; the mode asked for is the mode we get.
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

export function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true, mode });
}

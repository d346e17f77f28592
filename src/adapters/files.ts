import fs from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** Writes a file atomically (temp file + rename) with the given mode, creating its folder. */
export async function writeFileSafely(file: string, content: string, mode: number, dirMode = 0o700): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: dirMode });
  await writeFileAtomic(file, content, { mode, fsync: true });
  // writeFileAtomic keeps an existing file's mode only when none is given; force ours.
  await fs.promises.chmod(file, mode);
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

import fs from 'node:fs';

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

import fs from 'node:fs';
import path from 'node:path';

/** A regular file this user may execute. */
export function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The program a command name runs, as a shell finds it: a name with a slash is a path
 * (relative to `cwd`), any other is looked up on `searchPath`. undefined when there is
 * none, or it is not executable.
 */
export function findProgram(name: string, searchPath: string | undefined, cwd: string): string | undefined {
  if (name.includes('/')) {
    const file = path.resolve(cwd, name);
    return executable(file) ? file : undefined;
  }
  for (const dir of (searchPath ?? '').split(':')) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

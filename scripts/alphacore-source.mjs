// Where the bench scripts find the real AlphaCore repository, as the tests do
// (test/helpers/real-repo.ts): ALPHACORE_REPO (a clone), ALPHACORE_BUNDLE, the bundle
// beside this project (../shared/alphacore/), then /work/shared/alphacore/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A clone or the bundle of the real repository; undefined when there is none. */
export function alphacoreSource() {
  if (process.env.ALPHACORE_REPO && fs.existsSync(path.join(process.env.ALPHACORE_REPO, '.git'))) return process.env.ALPHACORE_REPO;
  for (const candidate of [process.env.ALPHACORE_BUNDLE, path.join(ROOT, '..', 'shared', 'alphacore', 'alphacore.bundle'), '/work/shared/alphacore/alphacore.bundle']) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

// Installs the fake Python runtime into a folder: copies these files to <dir>/lib (so a
// throwaway user can run them whatever the project's own folder allows) and writes
// <dir>/bin/python3 and bin/python. Shared by ../fake-python.ts (the tests) and
// scripts/demo.mjs, which cannot import TypeScript.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_PYTHON_SOURCE = path.dirname(fileURLToPath(import.meta.url));

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** Returns { bin, lib, control }: bin first on PATH; control world-writable (the stubs run as the test user). */
export function installRuntime(dir) {
  const lib = path.join(dir, 'lib');
  const bin = path.join(dir, 'bin');
  const control = path.join(dir, 'control');
  for (const d of [dir, lib, bin, control]) fs.mkdirSync(d, { recursive: true });
  for (const f of fs.readdirSync(FAKE_PYTHON_SOURCE)) fs.copyFileSync(path.join(FAKE_PYTHON_SOURCE, f), path.join(lib, f));
  const wrapper = `#!/bin/bash\n# fake python3 (alphacore-launcher test runtime; see test/helpers/fake-python.ts)\nexport FAKE_PYTHON_CONTROL="\${FAKE_PYTHON_CONTROL:-${control}}"\nexec ${q(process.execPath)} ${q(path.join(lib, 'python.mjs'))} "$@"\n`;
  for (const name of ['python3', 'python']) fs.writeFileSync(path.join(bin, name), wrapper, { mode: 0o755 });
  for (const d of [dir, lib, bin]) fs.chmodSync(d, 0o755);
  for (const f of fs.readdirSync(lib)) fs.chmodSync(path.join(lib, f), 0o644);
  fs.chmodSync(control, 0o777);
  return { bin, lib, control };
}

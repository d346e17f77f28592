// What the scripts that run the real repository as a user (bench-downtime, soak) share:
// the throwaway account the tests create, and a free loopback port.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/** As root: the tests' throwaway user (undefined when not root, null when it does not exist). */
export function throwawayUser() {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag) => Number(execFileSync('id', [flag, 'alphacore-ci'], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { name: 'alphacore-ci', uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

/** A loopback port nothing listens on right now. */
export const freePort = () =>
  new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/**
 * The fake Python runtime, as test/helpers/fake-python.ts installs it: `pyDir/bin/python3`
 * and `python` run the test fake, told what to do through `control` (writable by the user).
 */
export function installFakePython(root, pyDir, control) {
  fs.mkdirSync(path.join(pyDir, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(pyDir, 'bin'));
  fs.mkdirSync(control, { mode: 0o777 });
  fs.chmodSync(control, 0o777);
  const lib = path.join(root, 'test', 'helpers', 'fake-python');
  for (const f of fs.readdirSync(lib)) fs.copyFileSync(path.join(lib, f), path.join(pyDir, 'lib', f));
  const wrapper = `#!/bin/bash\nexport FAKE_PYTHON_CONTROL="\${FAKE_PYTHON_CONTROL:-${control}}"\nexec '${process.execPath}' '${path.join(pyDir, 'lib', 'python.mjs')}' "$@"\n`;
  for (const n of ['python3', 'python']) fs.writeFileSync(path.join(pyDir, 'bin', n), wrapper, { mode: 0o755 });
}

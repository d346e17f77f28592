// What the scripts that run the real repository as a user (bench-downtime, soak) share:
// the throwaway account the tests create, and a free loopback port.
import { execFileSync } from 'node:child_process';
import http from 'node:http';

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


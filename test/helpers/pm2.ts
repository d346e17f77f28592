import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { parseJlist, type Pm2Process } from '../../src/adapters/pm2.js';
import { PROJECT_ROOT } from './cli.js';

export type Pm2ProcessInfo = Pm2Process;

export interface IsolatedPm2 {
  /** PM2_HOME of this test's daemon. */
  home: string;
  /** Add to a run's environment: PM2_HOME and a PATH whose first `pm2` is the devDependency. */
  env: { PM2_HOME: string; PATH: string };
  /** `pm2 jlist` of this daemon (empty when it is not running). */
  list(): Pm2ProcessInfo[];
  /** Runs the devDependency pm2 against this daemon (as its owner). */
  pm2(...args: string[]): string;
  /** Ends this daemon and its processes, by the pid in PM2_HOME/pm2.pid. */
  kill(): void;
}

const daemons: IsolatedPm2[] = [];

afterAll(() => {
  for (const d of daemons.splice(0)) d.kill();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function descendants(pid: number): number[] {
  // The daemon's children are the services; end them too so nothing outlives the test.
  try {
    const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    const pairs = out.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
    const found: number[] = [];
    const walk = (parent: number) => {
      for (const [child, ppid] of pairs) if (ppid === parent) (found.push(child), walk(child));
    };
    walk(pid);
    return found;
  } catch {
    return [];
  }
}

/**
 * An isolated PM2 for one test file: its own PM2_HOME under `root` (a dir the user that
 * runs the CLI may write), the devDependency pm2 first on PATH. `packageRoot` is where
 * that user can read node_modules (the staged package when the CLI runs as another user).
 * Never the machine's own PM2, never `pm2 kill`.
 */
export function isolatedPm2(root: string, options: { packageRoot?: string; owner?: { uid: number; gid: number } } = {}): IsolatedPm2 {
  const home = path.join(root, 'pm2-home');
  fs.mkdirSync(home, { recursive: true });
  if (options.owner) fs.chownSync(home, options.owner.uid, options.owner.gid);
  const bin = path.join(options.packageRoot ?? PROJECT_ROOT, 'node_modules', '.bin');
  const env = { PM2_HOME: home, PATH: [bin, path.dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(':') };
  const runEnv = () => ({ ...env, HOME: root, PM2_DISCRETE_MODE: 'true' }) as Record<string, string>;
  const daemonPid = (): number | undefined => {
    try {
      const pid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const self: IsolatedPm2 = {
    home,
    env,
    // As the daemon's owner: a root client would leave root-owned files in PM2_HOME.
    pm2: (...args) =>
      // cwd in the PM2 home: the test's own cwd (CI's clone) may be closed to the user.
      execFileSync(path.join(bin, 'pm2'), args, { env: runEnv(), cwd: home, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'], uid: options.owner?.uid, gid: options.owner?.gid }),
    list() {
      const pid = daemonPid();
      if (pid === undefined || !alive(pid)) return [];
      return parseJlist(self.pm2('jlist'));
    },
    kill() {
      const pid = daemonPid();
      if (pid === undefined || !alive(pid)) return;
      const children = descendants(pid);
      for (const p of [pid, ...children]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
  daemons.push(self);
  return self;
}

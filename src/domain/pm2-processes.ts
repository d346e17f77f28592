import { daemonPid, pm2Home } from '../adapters/pm2-home.js';
import { running } from '../adapters/pm2-orphans.js';
import { openPm2, parseJlist, type Pm2Process } from '../adapters/pm2.js';
import { describeFailure, run } from '../adapters/shell.js';
import type { Context } from '../core/context.js';

/** The namespace's processes, without starting a PM2 daemon when none runs (`pm2 jlist` would). */
export async function pm2Processes(ctx: Context, namespace: string): Promise<{ procs: Pm2Process[]; problem?: string }> {
  const home = pm2Home(ctx);
  const pid = daemonPid(home);
  // A daemon killed with -9 whose parent never reaps it is a zombie: no daemon (and `pm2 jlist` would spawn one).
  if (pid === undefined || !running(pid)) return { procs: [], problem: `no PM2 daemon is running for PM2_HOME ${home}` };
  const result = await run(openPm2(ctx).bin, ['jlist'], { env: ctx.env, timeoutMs: 15_000, cwd: ctx.cwd });
  if (!result.ok) return { procs: [], problem: describeFailure(result) };
  try {
    return { procs: parseJlist(result.stdout).filter((p) => p.namespace === namespace) };
  } catch (error) {
    return { procs: [], problem: (error as Error).message };
  }
}

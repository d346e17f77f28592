import fs from 'node:fs';
import { pm2Home } from '../../adapters/pm2-home.js';
import type { HostFaultReason, UpdateState } from '../../core/state.js';
import { liveDaemonPid } from '../../domain/orphans.js';
import type { Run } from './run.js';

/** Below this much free space a filesystem the swap writes to counts as full. */
export const FULL_BELOW_BYTES = 1024 * 1024;
/** Swaps of one release that the machine's faults may end before it is quarantined anyway (§5.1). */
export const HOST_FAULT_LIMIT = 3;

/** A failure of the machine rather than of the release (§5.1, "whose fault"). */
export interface HostFault {
  reason: HostFaultReason;
  detail: string;
}

/** What the judgement looks at, taken right after the failure, before the rollback starts anything. */
export interface FaultFacts {
  /** The PM2 daemon's pid before the first stop, and now (undefined: none alive). */
  daemonBefore: number | undefined;
  daemonNow: number | undefined;
  /** Filesystems the swap writes to, with their free bytes (undefined: unknown). */
  free: { dir: string; bytes: number | undefined }[];
  /**
   * How the step failed, as the health module judged it: `pm2-silent` (the daemon stopped
   * answering), `api-port-taken` (another process holds the API's port), `pm2-vanished`
   * (a process seen running is gone from PM2) and `process-stopped` (SIGSTOP) are the
   * machine's, not the release's.
   */
  cause?: string;
  /** The failure's message (names the port's holder). */
  message?: string;
}

/** Pure: a machine fault, or undefined when the release failed on its own (live daemon, disk to spare). */
export function judgeFault(f: FaultFacts): HostFault | undefined {
  if (f.daemonBefore !== undefined && f.daemonNow !== f.daemonBefore) {
    const now = f.daemonNow === undefined ? 'none runs now' : `pid ${f.daemonNow} runs now`;
    return { reason: 'pm2-daemon-died', detail: `the PM2 daemon (pid ${f.daemonBefore}) died during the swap; ${now}` };
  }
  const full = f.free.find((d) => d.bytes !== undefined && d.bytes < FULL_BELOW_BYTES);
  if (full) return { reason: 'disk-full', detail: `the filesystem of ${full.dir} is full (${full.bytes} bytes free)` };
  if (f.cause === 'pm2-silent') return { reason: 'pm2-silent', detail: `the PM2 daemon stopped answering during the swap (${f.message ?? 'no answer'})` };
  if (f.cause === 'api-port-taken') return { reason: 'api-port-taken', detail: `another process holds the Validation API's port (${f.message ?? 'see the log'})` };
  // A release cannot delete its own PM2 process, nor stop its process with SIGSTOP.
  if (f.cause === 'pm2-vanished') return { reason: 'pm2-processes-gone', detail: `PM2 dropped a process the swap had started and seen running (pm2 kill, pm2 delete, or a daemon restart: ${f.message ?? 'see the log'})` };
  if (f.cause === 'process-stopped') return { reason: 'process-stopped', detail: `a process of the namespace was stopped by a signal (SIGSTOP; ${f.message ?? 'see the log'})` };
  return undefined;
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

export function faultFacts(run: Run, daemonBefore: number | undefined, failure?: { cause: string; message: string }): FaultFacts {
  const { ctx, config } = run;
  const dirs = [config.repoDir, ctx.paths.autoupdateStateDir, pm2Home(ctx)];
  return {
    daemonBefore,
    daemonNow: liveDaemonPid(ctx),
    free: dirs.map((dir) => ({ dir, bytes: freeBytes(dir) })),
    ...(failure ? { cause: failure.cause, message: failure.message } : {}),
  };
}

/**
 * Counts a machine fault against the release. Returns true when it has now had
 * HOST_FAULT_LIMIT of them: then it is quarantined (reason `unstable-host`) instead of
 * being tried again forever on a machine that cannot hold it up.
 */
export function countHostFault(state: UpdateState, sha: string, at: string): { count: number; exhausted: boolean } {
  const count = state.hostFaults?.sha === sha ? state.hostFaults.count + 1 : 1;
  state.hostFaults = { sha, count, last: at };
  return { count, exhausted: count >= HOST_FAULT_LIMIT };
}

import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from './lock.js';

/** A process PM2 started for a namespace (or a child of one), as /proc shows it. */
export interface NamespaceProcess {
  pid: number;
  ppid: number;
  /** PM2's app name (the `name` variable PM2 puts in every app's environment). */
  name: string;
  cmdline: string;
}

/** The parent pid from /proc/<pid>/stat (the field after the parenthesised command). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function environOf(pid: number): Map<string, string> | undefined {
  try {
    const out = new Map<string, string>();
    for (const entry of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0 && !out.has(entry.slice(0, eq))) out.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Processes of `namespace` under the PM2 of `home`: PM2 hands every app its own
 * settings as environment variables (`namespace`, `name`, `pm_id`, and `pm_pid_path`
 * under `$PM2_HOME/pids/`), and the app's children inherit them, so /proc finds a
 * validator or an API and whatever they started, whether or not a daemon still knows
 * them. Only this user's processes can be read: another user's are never seen.
 */
export function namespaceProcesses(home: string, namespace: string, self = process.pid): NamespaceProcess[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const pids = `${path.resolve(home, 'pids')}${path.sep}`;
  const found: NamespaceProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === self) continue;
    const env = environOf(pid);
    if (!env || env.get('namespace') !== namespace || !env.has('pm_id')) continue;
    const pidPath = env.get('pm_pid_path');
    const ours = pidPath ? pidPath.startsWith(pids) : env.get('PM2_HOME') === home;
    if (!ours) continue;
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      // ended meanwhile
    }
    found.push({ pid, ppid: parentOf(pid) ?? 0, name: env.get('name') ?? '?', cmdline });
  }
  return found;
}

/** Whether `ancestor` is `pid` or one of its ancestors. */
export function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p: number | undefined = pid, hops = 0; p && p > 1 && hops < 64; hops += 1) {
    if (p === ancestor) return true;
    p = parentOf(p);
  }
  return false;
}

/**
 * The namespace's processes that no live PM2 daemon supervises: a daemon killed (kill
 * -9, OOM) leaves its apps running, reparented to pid 1 (or to a subreaper such as
 * systemd --user). `daemonPid`: the live daemon of `home`, whose own children are not
 * orphans; undefined when none runs (then every such process is one).
 */
export function findOrphans(home: string, namespace: string, daemonPid: number | undefined): NamespaceProcess[] {
  return namespaceProcesses(home, namespace).filter((p) => daemonPid === undefined || !descendsFrom(p.pid, daemonPid));
}

/**
 * Alive and not a zombie: the exit of a process whose parent is pid 1 is reaped by pid
 * 1, which in a container may never do it, and kill(pid, 0) answers for a zombie too.
 */
export function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits, at most `maxMs`, for every pid to exit (polled every 100 ms); resolves whether they all did. */
export async function exitedWithin(pids: number[], maxMs: number, now: () => number = Date.now): Promise<boolean> {
  const deadline = now() + maxMs;
  while (pids.some(running) && now() < deadline) await sleep(100);
  return !pids.some(running);
}

/**
 * Ends processes by pid: SIGTERM, then SIGKILL for those still alive after `graceMs`.
 * Returns the pids that were still alive after the SIGKILL (normally none).
 */
export async function endProcesses(pids: number[], now: () => number, graceMs = 5_000): Promise<number[]> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  await exitedWithin(pids, graceMs, now);
  const left = pids.filter(running);
  for (const pid of left) signal(pid, 'SIGKILL');
  for (let i = 0; i < 20 && left.some(running); i += 1) await sleep(50);
  return left.filter(running);
}

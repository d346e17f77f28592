import fs from 'node:fs';
import { userNameOf } from './file-owner.js';

/** A process holding a flock on a file, as /proc tells it (DESIGN.md §5 step 2). */
export interface LockHolder {
  pid: number;
  /** Its real uid, from /proc/<pid>/status (absent when the process is gone). */
  uid?: number;
  user?: string;
  alive: boolean;
}

export interface ProcLock {
  kind: string;
  mode: string;
  pid: number;
  major: number;
  minor: number;
  inode: number;
}

/** Parses /proc/locks (pure): `1: FLOCK  ADVISORY  WRITE 29627 fe:00:2146631 0 EOF`; a `->` line is a waiter. */
export function parseProcLocks(text: string): ProcLock[] {
  const out: ProcLock[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(FLOCK|POSIX|OFDLCK|LEASE|DELEG)\s+\S+\s+(READ|WRITE|RW|UNLCK|\S+)\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (m) out.push({ kind: m[1]!, mode: m[2]!, pid: Number(m[3]), major: parseInt(m[4]!, 16), minor: parseInt(m[5]!, 16), inode: Number(m[6]) });
  }
  return out;
}

/** glibc's gnu_dev_major/minor of a st_dev. */
function devParts(dev: number): { major: number; minor: number } {
  const big = BigInt(dev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

function uidOf(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function holder(pid: number): LockHolder {
  const uid = uidOf(pid);
  if (uid === undefined) return { pid, alive: false };
  const user = userNameOf(uid);
  return { pid, uid, ...(user ? { user } : {}), alive: true };
}

/**
 * Who holds a flock on `file`: the pids /proc/locks gives for its inode. flock(1) run as
 * a child (the bash updater's `flock -n 9`, our own tryLock) leaves its own pid there,
 * which exits at once while its parent keeps the descriptor: for such a pid the
 * processes with the file open that we may look into (our own, or all as root) are
 * named instead. Read-only, no subprocess; [] when nothing holds it or /proc is absent.
 */
export function lockHolders(file: string, procLocks = '/proc/locks'): LockHolder[] {
  let stat: fs.Stats;
  let text: string;
  try {
    stat = fs.statSync(file);
    text = fs.readFileSync(procLocks, 'utf8');
  } catch {
    return [];
  }
  const { major, minor } = devParts(stat.dev);
  const entries = parseProcLocks(text).filter((l) => l.kind === 'FLOCK' && l.inode === stat.ino);
  // Overlay and similar filesystems may show another device for the same file: the inode
  // alone decides when no entry matches both.
  const exact = entries.filter((l) => l.major === major && l.minor === minor);
  const pids = [...new Set((exact.length > 0 ? exact : entries).map((l) => l.pid))];
  const out: LockHolder[] = [];
  for (const pid of pids) {
    const h = holder(pid);
    if (h.alive) out.push(h);
    else {
      const openers = processesWithOpen(stat.dev, stat.ino);
      out.push(...(openers.length > 0 ? openers.map(holder) : [h]));
    }
  }
  return out.filter((h, i) => out.findIndex((o) => o.pid === h.pid) === i);
}

/** Pids whose open descriptors include the file (only processes /proc lets us look into). */
function processesWithOpen(dev: number, ino: number): number[] {
  const out: number[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      try {
        const s = fs.statSync(`/proc/${pid}/fd/${fd}`);
        if (s.ino === ino && s.dev === dev) {
          out.push(Number(pid));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}

/** "pid 123 (user mallory)" for messages. */
export function describeHolders(holders: readonly LockHolder[]): string {
  if (holders.length === 0) return 'a process /proc/locks does not name';
  return holders
    .map((h) => (h.alive ? `pid ${h.pid} (user ${h.user ?? `uid ${h.uid}`})` : `pid ${h.pid} (no longer running; a process that inherited its descriptor holds it)`))
    .join(', ');
}

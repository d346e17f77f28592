import fs from 'node:fs';

/**
 * Who listens on a TCP port, read from Linux /proc (no `ss` or `lsof`: neither is on
 * every host, and both read the same files). The kernel lists listening sockets in
 * /proc/net/tcp and /proc/net/tcp6 (state 0A) with their inode and creator's uid; a
 * process holds the socket when one of its /proc/<pid>/fd links reads `socket:[inode]`.
 * Another user's fds are unreadable to us: such a holder is known by its uid only.
 */
export interface Listener {
  inode: number;
  /** The uid that created the socket (the column /proc/net/tcp gives for every user). */
  uid: number;
  port: number;
  family: 4 | 6;
}

/** Who holds a port, relative to a process tree of ours. */
export type PortHolder =
  | { kind: 'free' }
  /** A listener found among the tree's fds. */
  | { kind: 'ours'; pid: number }
  /** A listener outside the tree: its pid when /proc shows it (our own user's processes), its uid always. */
  | { kind: 'other'; pid?: number; uid: number; user?: string };

const LISTEN = '0A';

/** Listening sockets on `port` (TCP, IPv4 and IPv6). */
export function listeners(port: number, procRoot = '/proc'): Listener[] {
  const found: Listener[] = [];
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    let text: string;
    try {
      text = fs.readFileSync(`${procRoot}/net/${file}`, 'utf8');
    } catch {
      continue; // no IPv6 on this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      const local = f[1]!;
      const p = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (p !== port) continue;
      found.push({ inode: Number(f[9]), uid: Number(f[7]), port, family });
    }
  }
  return found;
}

const numericDirs = (procRoot: string): number[] => {
  try {
    return fs.readdirSync(procRoot).filter((e) => /^\d+$/.test(e)).map(Number);
  } catch {
    return [];
  }
};

/** The parent pid from /proc/<pid>/stat (the command name may hold spaces and parentheses). */
function parentOf(pid: number, procRoot: string): number | undefined {
  try {
    const stat = fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined; // ended meanwhile
  }
}

/** `root` and every live descendant of it (the parent links of /proc/<pid>/stat). */
export function processTree(root: number, procRoot = '/proc'): number[] {
  const children = new Map<number, number[]>();
  for (const pid of numericDirs(procRoot)) {
    const ppid = parentOf(pid, procRoot);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const tree: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (tree.includes(pid)) continue;
    tree.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** The socket inodes a process holds open (empty when its fds are not ours to read). */
export function socketInodes(pid: number, procRoot = '/proc'): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = fs.readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`${procRoot}/${pid}/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** The account name of a uid, from the passwd file (undefined when it has none). */
export function userName(uid: number, passwd = '/etc/passwd'): string | undefined {
  try {
    for (const line of fs.readFileSync(passwd, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && Number(f[2]) === uid && f[2] !== '') return f[0];
    }
  } catch {
    // no passwd file to read
  }
  return undefined;
}

/**
 * Who listens on `port`: free, a process of the tree rooted at `ownerPid` (a PM2
 * process and its descendants), or someone else. One listener outside the tree is
 * enough to call it `other`: a second socket on the port (SO_REUSEPORT, another
 * address family) would take a share of the connections meant for ours.
 */
export function portHolder(port: number, ownerPid: number | undefined, procRoot = '/proc'): PortHolder {
  const sockets = listeners(port, procRoot);
  if (sockets.length === 0) return { kind: 'free' };
  if (ownerPid && ownerPid > 0) {
    // Most often the PM2 process itself listens (the API's script execs python): no tree walk.
    const own = socketInodes(ownerPid, procRoot);
    if (sockets.every((s) => own.has(s.inode))) return { kind: 'ours', pid: ownerPid };
  }
  const tree = ownerPid && ownerPid > 0 ? processTree(ownerPid, procRoot) : [];
  const held = new Map<number, number>();
  for (const pid of tree) for (const inode of socketInodes(pid, procRoot)) held.set(inode, pid);
  const foreign = sockets.find((s) => !held.has(s.inode));
  if (!foreign) return { kind: 'ours', pid: held.get(sockets[0]!.inode)! };
  const pid = holderOf(foreign.inode, new Set(tree), procRoot);
  return { kind: 'other', ...(pid !== undefined ? { pid } : {}), uid: foreign.uid, ...userField(foreign.uid) };
}

function userField(uid: number): { user?: string } {
  const user = userName(uid);
  return user === undefined ? {} : { user };
}

/** The pid holding a socket inode, among the processes whose fds we may read. */
function holderOf(inode: number, skip: Set<number>, procRoot: string): number | undefined {
  for (const pid of numericDirs(procRoot)) {
    if (skip.has(pid)) continue;
    if (socketInodes(pid, procRoot).has(inode)) return pid;
  }
  return undefined;
}

/** "pid 123 (user bob)" / "uid 1001" / ...: the holder of a port, for messages. */
export function describeHolder(holder: Extract<PortHolder, { kind: 'other' }>): string {
  const who = holder.user ? `user ${holder.user}` : `uid ${holder.uid}`;
  return holder.pid !== undefined ? `pid ${holder.pid} (${who})` : `a process of ${who} (its pid is not visible to this user)`;
}

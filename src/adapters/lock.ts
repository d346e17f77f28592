import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../core/errors.js';
import { tightenFd, tightenPath } from './private-mode.js';
import { describeFailure, run } from './shell.js';

export interface HeldLock {
  release(): Promise<void>;
}

/** Whether a pid names a live process (EPERM: alive, owned by someone else). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// flock(1)'s exit code when the lock is held elsewhere (EX_TEMPFAIL).
const CONFLICT = 75;

/**
 * Takes the per-namespace overlap lock without waiting (DESIGN.md §5 step 2).
 * Returns undefined when another run holds it.
 *
 * The lock is a kernel flock(2) on a plain file, the same lock the bash updater
 * (`exec 9>"$lock"; flock -n 9`) takes on the same path, so during a migration
 * the two updaters exclude each other. Node has no flock, so we open the file
 * and let util-linux's `flock -n 3` lock our descriptor, handed to it as its fd
 * 3: a flock belongs to the open file description, which stays ours after
 * flock(1) exits. The kernel drops it when we close the file or die in any way
 * (kill -9 included), so a killed run never blocks the next one and there is
 * nothing stale to detect. The descriptor is close-on-exec (libuv opens every
 * file so): a PM2 daemon the run starts does not inherit the lock.
 *
 * The file is never removed: deleting a flock file lets two runs lock two
 * different inodes at once.
 */
export async function tryLock(lockPath: string, env: Readonly<Record<string, string | undefined>>): Promise<HeldLock | undefined> {
  return (await takeLock(lockPath, env)).lock;
}

export interface LockAttempt {
  /** undefined: another process holds the lock. */
  lock?: HeldLock;
  /** What was made private on the way ("<path> 0755 -> 0700"). */
  tightened: string[];
}

/**
 * tryLock, and on the way the lock's directory (when it is ours: never /tmp) is made
 * 0700 and the lock file 0600 (DESIGN.md §5 step 2): a bash-era setup left them
 * 0755/0644, which let any local user open the file and hold its flock forever. The
 * modes are set on descriptors, never through a path another user could swap.
 */
export async function takeLock(
  lockPath: string,
  env: Readonly<Record<string, string | undefined>>,
  options: { tighten?: boolean; /** Also made 0700 (the state dir, when AUTOUPDATE_LOCKFILE is elsewhere). */ privateDirs?: string[] } = {},
): Promise<LockAttempt> {
  await fs.promises.mkdir(path.dirname(lockPath), { recursive: true, mode: 0o700 });
  const tightened: string[] = [];
  const mayTighten = options.tighten !== false;
  if (mayTighten) {
    for (const dir of new Set([path.dirname(lockPath), ...(options.privateDirs ?? [])])) {
      const change = tightenPath(dir, 0o700, { directory: true });
      if (change) tightened.push(change);
    }
  }
  if (legacyLockHeld(lockPath)) return { tightened };
  const { O_WRONLY, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(lockPath, O_WRONLY | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (error) {
    throw new OperationError(
      `cannot open the updater lock ${lockPath} (${(error as NodeJS.ErrnoException).code}). ` +
        'It must be a plain file the validator\'s user may write; remove whatever is there instead, or set AUTOUPDATE_LOCKFILE.',
    );
  }
  const fileChange = mayTighten ? tightenFd(fd, lockPath, 0o600) : undefined;
  if (fileChange) tightened.push(fileChange);
  // flock(1) needs only its PATH; the usual places come last in case the timer's PATH is thin.
  const result = await run('flock', ['--nonblock', '--conflict-exit-code', String(CONFLICT), '3'], {
    env: { PATH: [env.PATH, '/usr/bin', '/bin'].filter(Boolean).join(':') },
    timeoutMs: 10_000,
    extraFds: [fd],
  });
  if (!result.ok) {
    fs.closeSync(fd);
    if (result.exitCode === CONFLICT) return { tightened };
    throw new OperationError(
      result.notFound
        ? 'the updater lock needs flock from util-linux, which is not on PATH. Install it: sudo apt-get install util-linux.'
        : `could not take the updater lock ${lockPath}: ${describeFailure(result)}`,
    );
  }
  // Who holds it, for an operator's `cat`; the bash updater truncates it, which is harmless.
  try {
    fs.ftruncateSync(fd);
    fs.writeSync(fd, `${process.pid}\n`, 0);
  } catch {
    // a full disk must not stop the run: the lock itself is held
  }
  let open = true;
  return {
    tightened,
    lock: {
      release: async () => {
        if (!open) return;
        open = false;
        fs.closeSync(fd);
      },
    },
  };
}

/**
 * Earlier builds of this toolkit locked with proper-lockfile: a directory at the lock path and
 * `<lock>.owner-<pid>` markers beside it. A directory whose marker names a live
 * process is a run of such a version in progress (held); any other is left over and
 * removed, so the plain lock file can take its place.
 */
function legacyLockHeld(lockPath: string): boolean {
  const dir = path.dirname(lockPath);
  const prefix = `${path.basename(lockPath)}.owner-`;
  let isDir = false;
  try {
    isDir = fs.lstatSync(lockPath).isDirectory();
  } catch {
    // nothing there yet
  }
  const markers = fs.readdirSync(dir).filter((name) => name.startsWith(prefix));
  if (!isDir && markers.length === 0) return false;
  if (isDir && markers.some((name) => isAlive(Number(name.slice(prefix.length))))) return true;
  for (const name of markers) fs.rmSync(path.join(dir, name), { force: true });
  if (isDir) fs.rmSync(lockPath, { recursive: true, force: true });
  return false;
}

import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';

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

/**
 * Takes the per-namespace overlap lock without waiting. Returns undefined when a live
 * run holds it. A lock left by a killed run never blocks: proper-lockfile treats a
 * lock whose mtime stopped being refreshed as stale, and, so that even the very next
 * run after a kill -9 gets through, every contender first leaves a marker file
 * naming its pid: a lock with no live marker beside it belongs to a dead run.
 */
export async function tryLock(lockPath: string): Promise<HeldLock | undefined> {
  const dir = path.dirname(lockPath);
  const prefix = `${path.basename(lockPath)}.owner-`;
  const marker = path.join(dir, `${prefix}${process.pid}`);
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(marker, '', { mode: 0o600 });
  const attempt = () =>
    lockfile.lock(lockPath, {
      realpath: false,
      lockfilePath: lockPath,
      stale: 30_000,
      update: 10_000,
      retries: 0,
      // A compromised lock (someone removed it) must not crash the process mid-update.
      onCompromised: () => undefined,
    });
  const otherMarkers = () =>
    fs.readdirSync(dir).filter((name) => name.startsWith(prefix) && name !== path.basename(marker));
  let release: () => Promise<void>;
  try {
    release = await attempt();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
      fs.rmSync(marker, { force: true });
      throw error;
    }
    const others = otherMarkers();
    if (others.some((name) => isAlive(Number(name.slice(prefix.length))))) {
      fs.rmSync(marker, { force: true });
      return undefined;
    }
    // Nobody alive holds it: the owner died without releasing. Take it over.
    for (const name of others) fs.rmSync(path.join(dir, name), { force: true });
    await fs.promises.rm(lockPath, { recursive: true, force: true });
    try {
      release = await attempt();
    } catch (again) {
      fs.rmSync(marker, { force: true });
      if ((again as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
      throw again;
    }
  }
  return {
    release: async () => {
      await release().catch(() => undefined);
      fs.rmSync(marker, { force: true });
    },
  };
}

import fs from 'node:fs';
import path from 'node:path';

/**
 * Live git processes working in a clone (Linux /proc): their cwd is inside it, or their
 * command line names it (`git -C DIR`, `--git-dir=DIR/.git`). Used before touching
 * `.git/index.lock`: a lock a live git holds is never removed (DESIGN.md §5.1).
 * Processes of other users whose /proc entries we cannot read are not seen.
 */
export function gitProcessesIn(repoDir: string, self = process.pid): number[] {
  const root = path.resolve(repoDir);
  const inside = (p: string) => p === root || p.startsWith(`${root}${path.sep}`);
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === self) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const exe = path.basename(argv[0] ?? '');
      if (exe !== 'git' && !exe.startsWith('git-')) continue;
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // not ours to read
      }
      if (inside(cwd) || argv.some((a) => inside(a.replace(/^--(git-dir|work-tree)=/, '')))) found.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

export interface IndexLock {
  present: boolean;
  path: string;
  /** pids of git processes in the clone (the lock may be theirs). */
  holders: number[];
  ageMs?: number;
}

export function inspectIndexLock(repoDir: string, nowMs: number): IndexLock {
  const file = path.join(repoDir, '.git', 'index.lock');
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return { present: false, path: file, holders: [] };
  }
  return { present: true, path: file, holders: gitProcessesIn(repoDir), ageMs: Math.max(0, nowMs - stat.mtimeMs) };
}

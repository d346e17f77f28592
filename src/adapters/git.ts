import { OperationError } from '../core/errors.js';
import { describeFailure, run } from './shell.js';

/** The deploy clone, in the verbs the updater needs. Every call has a timeout and a process-group kill. */
export interface Git {
  /** Tracked files with modified or staged changes (untracked files do not count). */
  dirtyTrackedFiles(): Promise<string[]>;
  fetch(remote: string, branch: string): Promise<void>;
  /** Resolves several revisions to full shas with one git process. */
  revParse(revs: readonly string[]): Promise<string[]>;
  headSha(): Promise<string>;
  resetHard(sha: string): Promise<void>;
  changedFiles(from: string, to: string): Promise<string[]>;
  /** Whether `file` exists in the tree of `sha`. */
  hasFile(sha: string, file: string): Promise<boolean>;
  /** Subject line and committer time (unix seconds) of a commit. */
  describe(sha: string): Promise<{ subject: string; time: number }>;
  topLevel(): Promise<string>;
  /** The checked-out branch, or undefined for a detached HEAD. */
  currentBranch(): Promise<string | undefined>;
  /** Commits on HEAD that no remote-tracking branch has (newest first, at most `limit`). */
  localCommits(limit?: number): Promise<string[]>;
  /** Whether `sha` names a commit present in the clone. */
  commitExists(sha: string): Promise<boolean>;
  /** The content of `file` at `sha` (undefined when absent). */
  show(sha: string, file: string): Promise<string | undefined>;
}

const PASS_ENV = /^(PATH|HOME|USER|LOGNAME|LANG|TZ|TMPDIR|SSH_AUTH_SOCK|XDG_CONFIG_HOME|(https?|no|all)_proxy|(HTTPS?|NO|ALL)_PROXY)$/;

/** Timeouts: a fetch may cross the network; everything else is local and quick. */
export const GIT_TIMEOUTS = { fetch: 120_000, local: 30_000 } as const;

export function openGit(dir: string, env: Readonly<Record<string, string | undefined>>, timeoutMs: number = GIT_TIMEOUTS.fetch): Git {
  // A curated environment: nothing that can make git execute programs (GIT_SSH_COMMAND,
  // GIT_ASKPASS, ...); an unattended run needs none.
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && PASS_ENV.test(k)) childEnv[k] = v;
  // Never wait for a password prompt in an unattended run.
  childEnv.GIT_TERMINAL_PROMPT = '0';
  childEnv.LC_ALL = 'C';
  // Read-only commands (status) must not take .git/index.lock behind the operator's back.
  childEnv.GIT_OPTIONAL_LOCKS = '0';
  const local = Math.min(timeoutMs, GIT_TIMEOUTS.local);

  const raw = async (what: string, args: string[], limitMs = local, okCodes: number[] = [0]): Promise<{ stdout: string; exitCode: number }> => {
    const result = await run('git', ['-c', 'core.quotepath=off', ...args], { cwd: dir, env: childEnv, timeoutMs: limitMs });
    if (result.exitCode === undefined || !okCodes.includes(result.exitCode) || result.timedOut) {
      const message = describeFailure(result).split('\n').slice(0, 4).join(' | ');
      throw new OperationError(`git ${what} failed in ${dir}: ${message}`);
    }
    return { stdout: result.stdout, exitCode: result.exitCode };
  };
  const out = async (what: string, args: string[], limitMs?: number) => (await raw(what, args, limitMs)).stdout;

  return {
    dirtyTrackedFiles: async () =>
      (await out('status', ['status', '--porcelain=v1', '-z', '--untracked-files=no', '--ignore-submodules=none']))
        .split('\0')
        .filter((entry) => entry.length > 3)
        .map((entry) => entry.slice(3)),
    fetch: async (remote, branch) => {
      await out(`fetch ${remote} ${branch}`, ['fetch', '--prune', '--no-tags', '--quiet', remote, branch], timeoutMs);
    },
    revParse: async (revs) => (await out(`rev-parse ${revs.join(' ')}`, ['rev-parse', ...revs.map((rev) => `${rev}^{commit}`)])).trim().split('\n'),
    headSha: async () => (await out('rev-parse HEAD', ['rev-parse', 'HEAD'])).trim(),
    resetHard: async (sha) => {
      await out(`reset --hard ${sha}`, ['reset', '--quiet', '--hard', sha]);
    },
    // --no-renames: a renamed-away modules/requirements.txt is a change of that path.
    changedFiles: async (from, to) => (await out('diff', ['diff', '--no-renames', '--name-only', '-z', from, to])).split('\0').filter(Boolean),
    hasFile: async (sha, file) => (await out('ls-tree', ['ls-tree', '--name-only', sha, '--', file])).trim() !== '',
    describe: async (sha) => {
      const [time, subject] = (await out('log', ['log', '-1', '--format=%ct%x00%s', sha])).trim().split('\0');
      return { subject: subject ?? '', time: Number(time) };
    },
    topLevel: async () => (await out('rev-parse --show-toplevel', ['rev-parse', '--show-toplevel'])).trim(),
    currentBranch: async () => {
      const r = await raw('symbolic-ref', ['symbolic-ref', '--quiet', '--short', 'HEAD'], local, [0, 1]);
      return r.exitCode === 0 ? r.stdout.trim() : undefined;
    },
    localCommits: async (limit = 5) =>
      (await out('rev-list', ['rev-list', `--max-count=${limit}`, 'HEAD', '--not', '--remotes'])).split('\n').filter(Boolean),
    commitExists: async (sha) => (await raw('cat-file', ['cat-file', '-e', `${sha}^{commit}`], local, [0, 1, 128])).exitCode === 0,
    show: async (sha, file) => {
      const r = await raw('show', ['show', `${sha}:${file}`], local, [0, 128]);
      return r.exitCode === 0 ? r.stdout : undefined;
    },
  };
}

import { simpleGit, type SimpleGit } from 'simple-git';
import { OperationError } from '../core/errors.js';

/** The deploy clone, in the verbs the updater needs. Every call has a timeout. */
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
  /** Full sha of a commit this clone has (a short sha resolves too), else undefined. */
  commitSha(rev: string): Promise<string | undefined>;
  /** Whether `sha` is `tip` itself or one of its ancestors. */
  isAncestor(sha: string, tip: string): Promise<boolean>;
}

const PASS_ENV = /^(PATH|HOME|USER|LOGNAME|LANG|TZ|TMPDIR|SSH_AUTH_SOCK|XDG_CONFIG_HOME|(https?|no|all)_proxy|(HTTPS?|NO|ALL)_PROXY)$/;

export function openGit(dir: string, env: Readonly<Record<string, string | undefined>>, timeoutMs = 120_000): Git {
  // A curated environment: simple-git refuses to run with variables that can make git
  // execute programs (GIT_SSH_COMMAND, GIT_ASKPASS, ...), and an unattended run needs none.
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && PASS_ENV.test(k)) childEnv[k] = v;
  // Never wait for a password prompt in an unattended run.
  childEnv.GIT_TERMINAL_PROMPT = '0';
  childEnv.LC_ALL = 'C';
  const git: SimpleGit = simpleGit({
    baseDir: dir,
    timeout: { block: timeoutMs },
    allowEnvironment: ['GIT_TERMINAL_PROMPT'],
    // The default also arms a 50 ms timer after every exit, which holds the process
    // open at the end of the timer's no-op run; 'close' alone is reliable.
    completion: { onClose: true, onExit: false },
  }).env(childEnv);

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const message = (error as Error).message.trim().split('\n').slice(0, 4).join(' | ');
      throw new OperationError(`git ${what} failed in ${dir}: ${message}`, { cause: error });
    }
  };

  return {
    dirtyTrackedFiles: () =>
      wrap('status', async () => {
        // --branch makes git always print something: simple-git waits 50 ms after a
        // process that printed nothing, and this runs on the timer's no-op path.
        const out = await git.raw(['status', '--porcelain=v1', '--branch', '-z', '--untracked-files=no', '--ignore-submodules=none']);
        return out
          .split('\0')
          .filter((entry) => entry.length > 3 && !entry.startsWith('## '))
          .map((entry) => entry.slice(3));
      }),
    fetch: (remote, branch) =>
      wrap(`fetch ${remote} ${branch}`, async () => {
        // --verbose for the same reason as status --branch above.
        await git.raw(['fetch', '--prune', '--no-tags', '--verbose', remote, branch]);
      }),
    revParse: (revs) =>
      wrap(`rev-parse ${revs.join(' ')}`, async () => {
        const out = await git.raw(['rev-parse', ...revs.map((rev) => `${rev}^{commit}`)]);
        return out.trim().split('\n');
      }),
    headSha: () => wrap('rev-parse HEAD', async () => (await git.raw(['rev-parse', 'HEAD'])).trim()),
    resetHard: (sha) => wrap(`reset --hard ${sha}`, async () => void (await git.raw(['reset', '--hard', sha]))),
    changedFiles: (from, to) =>
      wrap('diff', async () => (await git.raw(['diff', '--name-only', '-z', from, to])).split('\0').filter(Boolean)),
    hasFile: (sha, file) =>
      wrap('cat-file', async () => {
        const out = await git.raw(['ls-tree', '--name-only', sha, '--', file]);
        return out.trim() !== '';
      }),
    describe: (sha) =>
      wrap('log', async () => {
        const out = await git.raw(['log', '-1', '--format=%ct%x00%s', sha]);
        const [time, subject] = out.trim().split('\0');
        return { subject: subject ?? '', time: Number(time) };
      }),
    topLevel: () => wrap('rev-parse --show-toplevel', async () => (await git.raw(['rev-parse', '--show-toplevel'])).trim()),
    commitSha: (rev) =>
      wrap(`rev-parse ${rev}`, async () => {
        // --quiet: a missing commit is exit 1 with no output (simple-git resolves ''), not an
        // error. Callers pass validated hex (COMMIT_SHA), never an option-like word.
        const out = (await git.raw(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim();
        return out === '' ? undefined : out;
      }),
    isAncestor: (sha, tip) =>
      wrap(`rev-list ${tip}..${sha}`, async () => {
        // Empty when every commit reachable from sha is reachable from tip. (merge-base
        // --is-ancestor answers by exit code alone, which simple-git does not expose.)
        return (await git.raw(['rev-list', '--max-count=1', `${tip}..${sha}`, '--'])).trim() === '';
      }),
  };
}

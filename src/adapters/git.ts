import { OperationError } from '../core/errors.js';

/** What `git verify-commit` said: its exit code and its (ssh-keygen's) messages. */
export interface VerifyOutput {
  exitCode: number | undefined;
  output: string;
  timedOut: boolean;
}
import { describeFailure, run } from './shell.js';

/** The deploy clone, in the verbs the updater needs. Every call has a timeout. */
export interface Git {
  /** Tracked files with modified or staged changes (untracked files do not count). */
  dirtyTrackedFiles(): Promise<string[]>;
  fetch(remote: string, branch: string): Promise<void>;
  /** Resolves several revisions to full shas with one git process. */
  revParse(revs: readonly string[]): Promise<string[]>;
  /**
   * revParse plus the checked-out branch (undefined for a detached HEAD), still one git
   * process: the timer's no-op run asks both every two minutes.
   */
  revParseAndBranch(revs: readonly string[]): Promise<{ shas: string[]; branch: string | undefined }>;
  headSha(): Promise<string>;
  resetHard(sha: string): Promise<void>;
  changedFiles(from: string, to: string): Promise<string[]>;
  /** Whether `file` exists in the tree of `sha`. */
  hasFile(sha: string, file: string): Promise<boolean>;
  /** Subject line and committer time (unix seconds) of a commit. */
  describe(sha: string): Promise<{ subject: string; time: number }>;
  topLevel(): Promise<string>;
  /**
   * `git verify-commit` of one commit against an allowed_signers file (and revocation
   * file), given by `-c` only: the operator's git config is never written (DESIGN.md §11).
   */
  verifyCommit(sha: string, files: { allowedSigners: string; revokedSigners?: string }): Promise<VerifyOutput>;
  /** The kind of signature a commit object carries in its header (none: unsigned). */
  signatureKind(sha: string): Promise<'ssh' | 'openpgp' | 'x509' | 'none'>;
  /** Commits reachable from `to` but not from `from` (merges included), oldest first. */
  commitsBetween(from: string, to: string): Promise<string[]>;
  /** The checked-out branch, or undefined for a detached HEAD. */
  currentBranch(): Promise<string | undefined>;
  /** Commits on HEAD that no remote-tracking branch has (newest first, at most `limit`). */
  localCommits(limit?: number): Promise<string[]>;
  /** Whether `sha` names a commit present in the clone. */
  commitExists(sha: string): Promise<boolean>;
  /** The exact bytes of `file` at `sha` (undefined when absent). */
  show(sha: string, file: string): Promise<Buffer | undefined>;
  /** Full sha of a commit this clone has (a short sha resolves too), else undefined. */
  commitSha(rev: string): Promise<string | undefined>;
  /** Whether `sha` is `tip` itself or one of its ancestors. */
  isAncestor(sha: string, tip: string): Promise<boolean>;
}

/** Local git calls are quick; only a fetch may cross the network. */
const LOCAL_TIMEOUT_MS = 30_000;

/** Verification time per commit: ssh-keygen runs twice (find-principals, verify), offline. */
const VERIFY_TIMEOUT_MS = 30_000;

const PASS_ENV = /^(PATH|HOME|USER|LOGNAME|LANG|TZ|TMPDIR|SSH_AUTH_SOCK|XDG_CONFIG_HOME|(https?|no|all)_proxy|(HTTPS?|NO|ALL)_PROXY)$/;

/**
 * The `-c` settings of a verification. git picks the verifier from the signature's own
 * header whatever gpg.format says, so the OpenPGP and X.509 programs are set to `false`:
 * only ssh-keygen, against the given files, can say yes. gpg.ssh.program is pinned so a
 * setting in the operator's config cannot swap the verifier.
 */
export function verifyConfig(files: { allowedSigners: string; revokedSigners?: string }): string[] {
  const settings = [
    'gpg.format=ssh',
    'gpg.ssh.program=ssh-keygen',
    `gpg.ssh.allowedSignersFile=${files.allowedSigners}`,
    'gpg.program=false',
    'gpg.openpgp.program=false',
    'gpg.x509.program=false',
    ...(files.revokedSigners ? [`gpg.ssh.revocationFile=${files.revokedSigners}`] : []),
  ];
  return settings.flatMap((s) => ['-c', s]);
}

export function openGit(dir: string, env: Readonly<Record<string, string | undefined>>, timeoutMs = 120_000): Git {
  // A curated environment: nothing that can make git execute programs (GIT_SSH_COMMAND,
  // GIT_ASKPASS, ...); an unattended run needs none.
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && PASS_ENV.test(k)) childEnv[k] = v;
  // Never wait for a password prompt in an unattended run.
  childEnv.GIT_TERMINAL_PROMPT = '0';
  childEnv.LC_ALL = 'C';
  // Read-only commands (status) must not take .git/index.lock behind the operator's back.
  childEnv.GIT_OPTIONAL_LOCKS = '0';
  const local = Math.min(timeoutMs, LOCAL_TIMEOUT_MS);

  // git through the toolkit's one runner (argv array, timeout, process-group kill), not
  // simple-git: loading simple-git was a fifth of the timer's no-op run.
  const raw = async (what: string, args: string[], limitMs = args[0] === 'fetch' ? timeoutMs : local): Promise<string> => {
    const result = await run('git', args, { cwd: dir, env: childEnv, timeoutMs: limitMs });
    if (!result.ok) {
      const message = describeFailure(result).split('\n').slice(0, 4).join(' | ');
      throw new OperationError(`git ${what} failed in ${dir}: ${message}`);
    }
    return result.stdout;
  };

  return {
    dirtyTrackedFiles: async () =>
      (await raw('status', ['status', '--porcelain=v1', '-z', '--untracked-files=no', '--ignore-submodules=none']))
        .split('\0')
        .filter((entry) => entry.length > 3)
        .map((entry) => entry.slice(3)),
    fetch: async (remote, branch) => {
      await raw(`fetch ${remote} ${branch}`, ['fetch', '--prune', '--no-tags', '--quiet', remote, branch]);
    },
    revParse: async (revs) => (await raw(`rev-parse ${revs.join(' ')}`, ['rev-parse', ...revs.map((rev) => `${rev}^{commit}`)])).trim().split('\n'),
    revParseAndBranch: async (revs) => {
      // --symbolic-full-name HEAD prints refs/heads/<branch>, or HEAD itself when detached.
      const lines = (await raw(`rev-parse ${revs.join(' ')}`, ['rev-parse', ...revs.map((rev) => `${rev}^{commit}`), '--symbolic-full-name', 'HEAD'])).trim().split('\n');
      const ref = lines.pop() ?? '';
      return { shas: lines, branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined };
    },
    headSha: async () => (await raw('rev-parse HEAD', ['rev-parse', 'HEAD'])).trim(),
    resetHard: async (sha) => {
      await raw(`reset --hard ${sha}`, ['reset', '--quiet', '--hard', sha]);
    },
    // --no-renames: a renamed-away modules/requirements.txt is a change of that path.
    changedFiles: async (from, to) => (await raw('diff', ['diff', '--no-renames', '--name-only', '-z', from, to])).split('\0').filter(Boolean),
    hasFile: async (sha, file) => (await raw('ls-tree', ['ls-tree', '--name-only', sha, '--', file])).trim() !== '',
    describe: async (sha) => {
      const [time, subject] = (await raw('log', ['log', '-1', '--format=%ct%x00%s', sha])).trim().split('\0');
      return { subject: subject ?? '', time: Number(time) };
    },
    topLevel: async () => (await raw('rev-parse --show-toplevel', ['rev-parse', '--show-toplevel'])).trim(),
    verifyCommit: async (sha, files) => {
      const result = await run('git', [...verifyConfig(files), 'verify-commit', sha], { cwd: dir, env: childEnv, timeoutMs: Math.min(timeoutMs, VERIFY_TIMEOUT_MS) });
      if (result.notFound) throw new OperationError(`git verify-commit ${sha} failed in ${dir}: git not found`);
      return { exitCode: result.exitCode, output: `${result.stderr}\n${result.stdout}`.trim(), timedOut: result.timedOut };
    },
    signatureKind: async (sha) => {
      const header = (await raw(`cat-file commit ${sha}`, ['cat-file', 'commit', sha])).split('\n\n')[0] ?? '';
      const m = /^gpgsig(?:-sha256)? -----BEGIN ([A-Z0-9 ]*?)\s*(?:SIGNATURE|SIGNED MESSAGE)-----/m.exec(header);
      if (!m) return 'none';
      return m[1] === 'SSH' ? 'ssh' : m[1] === 'PGP' ? 'openpgp' : 'x509';
    },
    commitsBetween: async (from, to) => (await raw(`rev-list ${from}..${to}`, ['rev-list', '--reverse', `${from}..${to}`, '--'])).split('\n').filter(Boolean),
    currentBranch: async () => {
      const r = await run('git', ['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: dir, env: childEnv, timeoutMs: local });
      if (r.exitCode === 1) return undefined;
      if (!r.ok) throw new OperationError(`git symbolic-ref failed in ${dir}: ${describeFailure(r)}`);
      return r.stdout.trim();
    },
    localCommits: async (limit = 5) => (await raw('rev-list', ['rev-list', `--max-count=${limit}`, 'HEAD', '--not', '--remotes'])).split('\n').filter(Boolean),
    commitExists: async (sha) => (await run('git', ['cat-file', '-e', `${sha}^{commit}`], { cwd: dir, env: childEnv, timeoutMs: local })).ok,
    show: async (sha, file) => {
      const r = await run('git', ['cat-file', 'blob', `${sha}:${file}`], { cwd: dir, env: childEnv, timeoutMs: local, raw: true });
      return r.ok ? (r.rawStdout ?? Buffer.from(r.stdout)) : undefined;
    },
    // Both answer by exit code: 1 is "no", anything else but 0 a failure. Callers pass
    // validated hex (COMMIT_SHA), never an option-like word.
    commitSha: async (rev) => {
      const result = await run('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: dir, env: childEnv, timeoutMs });
      if (result.ok) return result.stdout.trim();
      if (result.exitCode === 1) return undefined;
      throw new OperationError(`git rev-parse ${rev} failed in ${dir}: ${describeFailure(result)}`);
    },
    isAncestor: async (sha, tip) => {
      const result = await run('git', ['merge-base', '--is-ancestor', sha, tip], { cwd: dir, env: childEnv, timeoutMs });
      if (result.ok) return true;
      if (result.exitCode === 1) return false;
      throw new OperationError(`git merge-base --is-ancestor ${sha} ${tip} failed in ${dir}: ${describeFailure(result)}`);
    },
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openGit, type Git } from '../../src/adapters/git.js';
import { OperationError } from '../../src/core/errors.js';
import { cloneDeploy, createOrigin, git, type Origin } from '../helpers/repo.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Each verb of the git adapter against a real repository, one case per verb, with the
 * answer it must give and the way it must fail. The update's decisions rest on these
 * answers (a dirty clone, the target, the changed files), so a git upgrade or a changed
 * flag that alters one shows here first, not as a wrong swap. isAncestor has its own
 * file (git-ancestry.test.ts); verifyCommit and signatureKind are in signatures.test.ts.
 */
interface World {
  origin: Origin;
  deploy: string;
  g: Git;
  first: string;
}

function world(files: Record<string, string> = { 'README.md': 'fixture\n', 'modules/requirements.txt': 'a==1\n' }): World {
  const origin = createOrigin(files, { root: tempDir('alphacore-gitverbs-') });
  const first = origin.head();
  const deploy = cloneDeploy(origin, path.join(tempDir('alphacore-gitverbs-deploy-'), 'AlphaCore'));
  return { origin, deploy, g: openGit(deploy, { PATH: process.env.PATH, HOME: deploy }), first };
}

const fetchAll = (w: World) => git(w.deploy, 'fetch', '--quiet', 'origin');

describe('git adapter verbs on a real repository', () => {
  it('dirtyTrackedFiles: modified and staged tracked files count; untracked and ignored ones do not', async () => {
    const w = world();
    expect(await w.g.dirtyTrackedFiles()).toEqual([]);
    fs.writeFileSync(path.join(w.deploy, 'untracked.txt'), 'x\n');
    fs.mkdirSync(path.join(w.deploy, 'venv'));
    fs.writeFileSync(path.join(w.deploy, 'venv', 'pyvenv.cfg'), 'x\n');
    expect(await w.g.dirtyTrackedFiles()).toEqual([]);
    fs.appendFileSync(path.join(w.deploy, 'README.md'), 'local edit\n');
    fs.writeFileSync(path.join(w.deploy, 'modules', 'requirements.txt'), 'a==2\n');
    git(w.deploy, 'add', 'modules/requirements.txt');
    expect((await w.g.dirtyTrackedFiles()).sort()).toEqual(['README.md', 'modules/requirements.txt']);
    // A name with a space and a newline survives -z.
    const odd = 'odd name\nwith newline.txt';
    fs.writeFileSync(path.join(w.deploy, odd), 'x\n');
    git(w.deploy, 'add', odd);
    expect(await w.g.dirtyTrackedFiles()).toContain(odd);
  });

  it('fetch: brings the new tip into refs/remotes, never moves HEAD, leaves other branches; a missing branch fails naming the command', async () => {
    const w = world();
    const second = w.origin.push({ 'b.txt': '2\n' }, 'second');
    await w.g.fetch('origin', w.origin.branch);
    expect(git(w.deploy, 'rev-parse', `refs/remotes/origin/${w.origin.branch}`)).toBe(second);
    expect(git(w.deploy, 'rev-parse', 'HEAD')).toBe(w.first);
    const failure = await w.g.fetch('origin', 'no-such-branch').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OperationError);
    expect((failure as Error).message).toMatch(/git fetch origin no-such-branch failed in .*AlphaCore/);
    // --prune with one branch named prunes within that refspec only: another branch's
    // remote-tracking ref (an operator's own) is left alone, even once the origin drops it.
    git(w.origin.author, 'push', '--quiet', 'origin', `HEAD:refs/heads/other`);
    fetchAll(w);
    git(w.origin.author, 'push', '--quiet', 'origin', ':refs/heads/other');
    await w.g.fetch('origin', w.origin.branch);
    expect(git(w.deploy, 'for-each-ref', '--format=%(refname)', 'refs/remotes/origin/other')).toBe('refs/remotes/origin/other');
  });

  it('revParse and revParseAndBranch: full shas in order, the branch, and undefined when detached', async () => {
    const w = world();
    const second = w.origin.push({ 'b.txt': '2\n' }, 'second');
    fetchAll(w);
    const tip = `refs/remotes/origin/${w.origin.branch}`;
    expect(await w.g.revParse(['HEAD', tip])).toEqual([w.first, second]);
    expect(await w.g.revParseAndBranch(['HEAD', tip])).toEqual({ shas: [w.first, second], branch: w.origin.branch });
    git(w.deploy, 'checkout', '--quiet', '--detach', 'HEAD');
    expect(await w.g.revParseAndBranch(['HEAD'])).toEqual({ shas: [w.first], branch: undefined });
    // ^{commit}: a tree or an unknown name is an error, not a sha.
    const tree = git(w.deploy, 'rev-parse', 'HEAD^{tree}');
    await expect(w.g.revParse([tree])).rejects.toThrow(OperationError);
    await expect(w.g.revParse(['refs/remotes/origin/nowhere'])).rejects.toThrow(/rev-parse refs\/remotes\/origin\/nowhere failed/);
  });

  it('headSha and topLevel: from the clone root and from a subfolder', async () => {
    const w = world();
    expect(await w.g.headSha()).toBe(w.first);
    expect(await w.g.topLevel()).toBe(w.deploy);
    const sub = openGit(path.join(w.deploy, 'modules'), { PATH: process.env.PATH, HOME: w.deploy });
    expect(await sub.topLevel()).toBe(w.deploy);
    const notARepo = openGit(tempDir('alphacore-gitverbs-none-'), { PATH: process.env.PATH, HOME: w.deploy, GIT_CEILING_DIRECTORIES: '/' });
    await expect(notARepo.headSha()).rejects.toThrow(/not a git repository/i);
  });

  it('resetHard: tracked files and HEAD move to the commit, untracked files stay; an unknown commit fails and moves nothing', async () => {
    const w = world();
    const second = w.origin.push({ 'README.md': 'v2\n', 'b.txt': '2\n' }, 'second');
    fetchAll(w);
    fs.writeFileSync(path.join(w.deploy, 'operator-notes.txt'), 'mine\n');
    fs.appendFileSync(path.join(w.deploy, 'README.md'), 'local edit\n');
    await w.g.resetHard(second);
    expect(git(w.deploy, 'rev-parse', 'HEAD')).toBe(second);
    expect(fs.readFileSync(path.join(w.deploy, 'README.md'), 'utf8')).toBe('v2\n');
    expect(fs.readFileSync(path.join(w.deploy, 'operator-notes.txt'), 'utf8')).toBe('mine\n');
    await expect(w.g.resetHard('f'.repeat(40))).rejects.toThrow(/reset --hard f{40} failed/);
    expect(git(w.deploy, 'rev-parse', 'HEAD')).toBe(second);
    await w.g.resetHard(w.first);
    expect(fs.existsSync(path.join(w.deploy, 'b.txt'))).toBe(false);
  });

  it('changedFiles: every path that differs, a rename as both of its paths, nothing between a commit and itself', async () => {
    const w = world();
    const second = w.origin.push({ 'modules/requirements.txt': null, 'modules/requirements-new.txt': 'a==1\n', 'c.txt': 'c\n' }, 'rename and add');
    fetchAll(w);
    expect((await w.g.changedFiles(w.first, second)).sort()).toEqual(['c.txt', 'modules/requirements-new.txt', 'modules/requirements.txt']);
    expect(await w.g.changedFiles(second, second)).toEqual([]);
    await expect(w.g.changedFiles(w.first, 'f'.repeat(40))).rejects.toThrow(OperationError);
  });

  it('hasFile and show: exact bytes at a commit, undefined where the file is absent', async () => {
    const w = world();
    const bytes = Buffer.from([0x00, 0xff, 0x0a, 0x41]);
    // Origin.push writes strings as UTF-8: the exact bytes go through the author clone.
    fs.writeFileSync(path.join(w.origin.author, 'bin.dat'), bytes);
    git(w.origin.author, 'add', 'bin.dat');
    git(w.origin.author, 'commit', '--quiet', '-m', 'exact bytes');
    git(w.origin.author, 'push', '--quiet', 'origin', `HEAD:${w.origin.branch}`);
    const third = git(w.origin.author, 'rev-parse', 'HEAD');
    fetchAll(w);
    expect(await w.g.hasFile(third, 'bin.dat')).toBe(true);
    expect(await w.g.hasFile(w.first, 'bin.dat')).toBe(false);
    expect(await w.g.hasFile(third, 'modules/requirements.txt')).toBe(true);
    expect((await w.g.show(third, 'bin.dat'))?.equals(bytes)).toBe(true);
    expect((await w.g.show(w.first, 'modules/requirements.txt'))?.toString('utf8')).toBe('a==1\n');
    expect(await w.g.show(w.first, 'bin.dat')).toBeUndefined();
    expect(await w.g.show('f'.repeat(40), 'README.md')).toBeUndefined();
  });

  it('describe: the subject line and the committer time', async () => {
    const w = world();
    git(w.origin.author, 'commit', '--quiet', '--allow-empty', '-m', 'release 7: fix the emitter\n\nbody text');
    git(w.origin.author, 'push', '--quiet', 'origin', `HEAD:${w.origin.branch}`);
    const sha = git(w.origin.author, 'rev-parse', 'HEAD');
    fetchAll(w);
    const d = await w.g.describe(sha);
    expect(d.subject).toBe('release 7: fix the emitter');
    expect(d.time).toBe(Number(git(w.deploy, 'log', '-1', '--format=%ct', sha)));
    await expect(w.g.describe('f'.repeat(40))).rejects.toThrow(OperationError);
  });

  it('commitsBetween: oldest first, merges included, nothing when the target is behind', async () => {
    const w = world();
    const a = w.origin.push({ 'a.txt': 'a\n' }, 'a');
    git(w.origin.author, 'checkout', '--quiet', '-b', 'side', w.first);
    git(w.origin.author, 'commit', '--quiet', '--allow-empty', '-m', 'side');
    const side = git(w.origin.author, 'rev-parse', 'HEAD');
    git(w.origin.author, 'checkout', '--quiet', w.origin.branch);
    git(w.origin.author, 'merge', '--quiet', '--no-ff', '-m', 'merge side', 'side');
    const merge = git(w.origin.author, 'rev-parse', 'HEAD');
    git(w.origin.author, 'push', '--quiet', 'origin', `HEAD:${w.origin.branch}`);
    fetchAll(w);
    const between = await w.g.commitsBetween(w.first, merge);
    expect(between).toHaveLength(3);
    expect(between.at(-1)).toBe(merge);
    expect(new Set(between)).toEqual(new Set([a, side, merge]));
    expect(await w.g.commitsBetween(merge, w.first)).toEqual([]);
  });

  it('currentBranch and localCommits: the branch, detached, and commits no remote has', async () => {
    const w = world();
    expect(await w.g.currentBranch()).toBe(w.origin.branch);
    expect(await w.g.localCommits()).toEqual([]);
    git(w.deploy, 'checkout', '--quiet', '-b', 'hotfix');
    const local = [1, 2, 3, 4, 5, 6].map((n) => {
      git(w.deploy, 'commit', '--quiet', '--allow-empty', '-m', `local ${n}`);
      return git(w.deploy, 'rev-parse', 'HEAD');
    });
    expect(await w.g.currentBranch()).toBe('hotfix');
    // Newest first, at most the limit (5 by default).
    expect(await w.g.localCommits()).toEqual(local.slice(1).reverse());
    expect(await w.g.localCommits(2)).toEqual([local[5], local[4]]);
    git(w.deploy, 'checkout', '--quiet', '--detach');
    expect(await w.g.currentBranch()).toBeUndefined();
  });

  it('commitExists and commitSha: present, absent, a short sha, and never an option', async () => {
    const w = world();
    expect(await w.g.commitExists(w.first)).toBe(true);
    expect(await w.g.commitExists('f'.repeat(40))).toBe(false);
    expect(await w.g.commitSha(w.first.slice(0, 10))).toBe(w.first);
    expect(await w.g.commitSha('f'.repeat(40))).toBeUndefined();
    const tree = git(w.deploy, 'rev-parse', 'HEAD^{tree}');
    expect(await w.g.commitExists(tree)).toBe(false);
    expect(await w.g.commitSha(tree)).toBeUndefined();
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openGit } from '../../src/adapters/git.js';
import { cloneDeploy, createOrigin, git } from '../helpers/repo.js';
import { tempDir } from '../helpers/tmp.js';

/** git.isAncestor against a real repository: the history policy's one question (DESIGN.md §5 step 5). */
describe('git.isAncestor (git merge-base --is-ancestor)', () => {
  it('forward, equal, back and sideways', async () => {
    const origin = createOrigin();
    const first = origin.head();
    const second = origin.push({ 'a.txt': '2\n' }, 'second');
    // A work-in-progress commit on another branch, off `first`.
    git(origin.author, 'checkout', '--quiet', '-b', 'wip', first);
    git(origin.author, 'commit', '--quiet', '--allow-empty', '-m', 'wip');
    git(origin.author, 'push', '--quiet', 'origin', 'HEAD:refs/heads/wip');
    const wip = git(origin.author, 'rev-parse', 'HEAD');
    const deploy = cloneDeploy(origin, path.join(tempDir('alphacore-ancestry-'), 'clone'));
    git(deploy, 'fetch', '--quiet', origin.bare, 'wip');
    const g = openGit(deploy, { PATH: process.env.PATH, HOME: deploy });
    expect(await g.isAncestor(first, second)).toBe(true); // forward
    expect(await g.isAncestor(second, second)).toBe(true); // equal
    expect(await g.isAncestor(second, first)).toBe(false); // back
    expect(await g.isAncestor(second, wip)).toBe(false); // sideways
    await expect(g.isAncestor(second, 'f'.repeat(40))).rejects.toThrow(/merge-base --is-ancestor/);
  });
});

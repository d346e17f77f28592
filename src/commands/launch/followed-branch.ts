import { run } from '../../adapters/shell.js';
import type { Context } from '../../core/context.js';
import { DEFAULTS } from '../../core/config.js';

const GIT_MS = 10_000;

/**
 * The branch the auto-updater will follow (REMOTE/BRANCH of the auto-update config,
 * `origin`/`release` unless the operator set them there), checked in the deploy clone
 * without the network, for launch's warnings (dry run and real run alike): a remote
 * that is not configured fails every update run at its fetch; a branch the clone never
 * fetched may still exist on the origin (a `--single-branch` clone). Neither stops the
 * launch (the validator runs without the updater; the remote can be added later):
 * each is a warning naming the fix. undefined when both are there.
 */
export async function checkFollowedBranch(ctx: Context, input: { repoDir: string; configFile: string; kept: readonly [string, string][] }): Promise<string | undefined> {
  const kept = new Map(input.kept);
  const remote = kept.get('REMOTE') || DEFAULTS.REMOTE;
  const branch = kept.get('BRANCH') || DEFAULTS.BRANCH;
  const git = (args: string[]) => run('git', ['-C', input.repoDir, ...args], { env: { ...ctx.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }, timeoutMs: GIT_MS });
  const url = await git(['remote', 'get-url', remote]);
  if (!url.ok) {
    const remotes = (await git(['remote'])).stdout.split('\n').filter(Boolean);
    const where = kept.has('REMOTE') ? `REMOTE=${remote} in ${input.configFile}` : `REMOTE, default ${remote}`;
    const fix = remotes.length > 0
      ? `Its remotes: ${remotes.join(', ')}. Set REMOTE=<one of them> in ${input.configFile}, or add it: git -C ${input.repoDir} remote add ${remote} <url>`
      : `Add it: git -C ${input.repoDir} remote add ${remote} <url of the AlphaCore repository>`;
    return `WARNING: the deploy clone ${input.repoDir} has no remote ${remote} (${where}): every auto-update run would fail at its fetch. ${fix}.`;
  }
  const tracked = await git(['rev-parse', '--verify', '--quiet', `refs/remotes/${remote}/${branch}^{commit}`]);
  if (tracked.ok) return undefined;
  return `WARNING: the deploy clone has no ${remote}/${branch} yet (never fetched?): the auto-updater fetches it at its first run, and if ${remote} has no branch ${branch} every run will fail. Check: git -C ${input.repoDir} ls-remote --heads ${remote} ${branch} (BRANCH=<name> in ${input.configFile} to follow another).`;
}

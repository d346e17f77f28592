import type { Argv } from 'yargs';
import { COMMIT_SHA } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { UserError } from '../../core/errors.js';

/** yargs declaration of `alphacore update`; the cycle itself is imported lazily. */
export function updateCommand(yargs: Argv, ctx: Context, setExit: (code: number) => void): Argv {
  return yargs.command(
    'update',
    'Bring the deploy clone to the newest release, never mid-round (see README: the guarded cycle)',
    (y) =>
      y
        .option('config', { type: 'string', describe: 'auto-update config file (KEY=VALUE), required', normalize: true })
        .option('repo-dir', { type: 'string', describe: 'deploy clone (overrides REPO_DIR)' })
        .option('remote', { type: 'string', describe: 'git remote (overrides REMOTE; default origin)' })
        .option('branch', { type: 'string', describe: 'branch to follow (overrides BRANCH; default release)' })
        .option('to', { type: 'string', describe: 'deploy this commit of REMOTE/BRANCH instead of its tip (overrides PIN)' })
        .check((a) => {
          // Said here rather than by yargs' "Missing required argument", which points at the general --help.
          if (a.config === undefined) throw new UserError('--config is required: the auto-update config file launch wrote, e.g. --config ~/.config/alphacore/autoupdate/alphacore.env.', { hint: 'Run alphacore update --help for its flags.' });
          if (a.to !== undefined && !COMMIT_SHA.test(String(a.to))) throw new UserError(`--to ${String(a.to)} is not a commit sha (7 to 40 hex digits); pass a commit of the followed branch, e.g. --to $(git -C <repo> rev-parse origin/release).`);
          return true;
        })
        .option('dry-run', { type: 'boolean', default: false, describe: 'decide and report, change nothing' })
        .option('force', { type: 'boolean', default: false, describe: 'ignore the round/API gates and the quarantine (never the signature policy)' })
        .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout, the last one the result' })
        .example('$0 update --config ~/.config/alphacore/autoupdate/alphacore.env', 'one guarded update run (what the timer runs)')
        .example('$0 update --config ~/.config/alphacore/autoupdate/alphacore.env --dry-run', 'what would happen now')
        .example('$0 update --config ~/.config/alphacore/autoupdate/alphacore.env --json', 'machine-readable outcome')
        .example('$0 update --config ~/.config/alphacore/autoupdate/alphacore.env --to 1a2b3c4', 'deploy that commit of the branch (a canary rollout; README, "Many machines")'),
    async (argv) => {
      const { runUpdate } = await import('./cycle.js');
      const path = await import('node:path');
      setExit(
        await runUpdate(ctx, {
          config: path.resolve(ctx.cwd, argv.config!),
          repoDir: argv['repo-dir'] ? path.resolve(ctx.cwd, argv['repo-dir']) : undefined,
          remote: argv.remote,
          branch: argv.branch,
          to: argv.to,
          dryRun: argv['dry-run'],
          force: argv.force,
          json: argv.json,
        }),
      );
    },
  );
}

import type { Argv } from 'yargs';
import type { Context } from '../../core/context.js';
import { declareLaunchOptions } from '../../domain/launch/options.js';

/**
 * yargs declaration of `alphacore launch`; the work itself is imported lazily. `raw`: the
 * words typed, which tell `--netuid` (no value) from a value yargs read as a flag.
 */
export function launchCommand(yargs: Argv, ctx: Context, setExit: (code: number) => void, raw: readonly string[] = []): Argv {
  return yargs.command(
    'launch',
    'Validate the settings, write the validator env file, start the validator under PM2, install auto-update (see docs/launch.md)',
    (y) =>
      declareLaunchOptions(y)
        .example('$0 launch --wallet-name cold --hotkey hot --netuid 66 --network finney --gcp-creds-file ~/sa.json', 'launch on mainnet; the service account comes from the key file')
        .example('$0 launch --wallet-name cold --hotkey hot --netuid 2 --network test --gcp-creds-file ~/sa.json --disable-llm --epoch-slots 2 --epoch-slot-index 1', 'testnet, no LLM, second of two windows')
        .example('$0 launch ... --dry-run', 'print every file, the PM2 command and the scheduler entry; change nothing')
        .example('$0 launch ... --no-autoupdate', 'start the validator only; enable auto-update later with `alphacore autoupdate enable`')
        .epilogue('Run as the operator\'s user (not root) from the AlphaCore deploy clone, or pass --repo-dir. Re-running with the same flags changes nothing. See docs/launch.md.'),
    async (argv) => {
      const { launchArgsFrom } = await import('../../domain/launch/options.js');
      const { runLaunch } = await import('./index.js');
      // argv._[0] is the command name itself.
      setExit(await runLaunch(ctx, launchArgsFrom(argv as Record<string, unknown>, (argv._ as unknown[]).slice(1), raw)));
    },
  );
}

import type { Argv } from 'yargs';
import type { Context } from '../../core/context.js';

/** yargs declaration of `alphacore autoupdate`; the work is imported lazily. */
export function autoupdateCommand(yargs: Argv, ctx: Context, setExit: (code: number) => void): Argv {
  return yargs.command(
    'autoupdate <action>',
    'Install, remove or show the auto-update timer (systemd user timer, else crontab; see docs/scheduler.md)',
    (y) =>
      y
        .positional('action', { choices: ['enable', 'disable', 'status'] as const, describe: 'what to do', demandOption: true })
        .option('namespace', { type: 'string', describe: 'PM2 namespace (default: the config\'s PM2_NAMESPACE, else alphacore)' })
        .option('config', { type: 'string', describe: 'auto-update config (default ~/.config/alphacore/autoupdate/<namespace>.env)' })
        .option('interval', { type: 'string', describe: 'enable: how often, as a systemd time span (default ALPHACORE_AUTOUPDATE_INTERVAL, else 2m)' })
        .option('enable-linger', { type: 'boolean', default: false, describe: 'enable: run loginctl enable-linger so the timer survives logout' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'enable: print the units or crontab line; disable: say what would be removed; change nothing' })
        .option('json', { type: 'boolean', default: false, describe: 'one JSON object on stdout (an error too)' })
        .example('$0 autoupdate enable', 'install the timer for the namespace alphacore, every 2m')
        .example('$0 autoupdate enable --namespace testnet --interval 5m --enable-linger', 'another namespace, its own config and interval')
        .example('$0 autoupdate status --json', 'what is installed and when it runs next')
        .example('$0 autoupdate disable --namespace testnet', 'remove that namespace\'s timer or crontab line, nothing else'),
    async (argv) => {
      const { runAutoupdate } = await import('./run.js');
      setExit(
        await runAutoupdate(ctx, {
          action: argv.action as 'enable' | 'disable' | 'status',
          namespace: argv.namespace,
          config: argv.config,
          interval: argv.interval,
          enableLinger: argv['enable-linger'],
          dryRun: argv['dry-run'],
          json: argv.json,
        }),
      );
    },
  );
}

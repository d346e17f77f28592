import type { Argv } from 'yargs';
import type { Context } from '../../core/context.js';

/** yargs declaration of `alphacore status`; the work is imported lazily. */
export function statusCommand(yargs: Argv, ctx: Context, setExit: (code: number) => void): Argv {
  return yargs.command(
    'status',
    'One screen: repo vs release, scheduler, last run, gates, PM2 processes, what to do next (see docs/status.md)',
    (y) =>
      y
        .option('namespace', { type: 'string', describe: 'PM2 namespace; reads ~/.config/alphacore/autoupdate/<namespace>.env (default alphacore)' })
        .option('config', { type: 'string', describe: 'auto-update config file instead (its PM2_NAMESPACE names the namespace)' })
        .conflicts('namespace', 'config')
        .option('json', { type: 'boolean', default: false, describe: 'the same content as one JSON object' })
        .example('$0 status', 'the namespace alphacore')
        .example('$0 status --namespace testnet', 'another namespace on the same machine')
        .example('$0 status --config ~/.config/alphacore/autoupdate/alphacore.env --json', 'for a monitoring script; advice[] lists what needs attention')
        .epilogue('Exit codes: 0 when it could report (healthy or not: see "What to do next"), 2 when the config cannot be read. It never fetches, starts or changes anything, and answers within about 2 s even when PM2 or the Validation API does not.'),
    async (argv) => {
      const { runStatus } = await import('./run.js');
      const path = await import('node:path');
      setExit(await runStatus(ctx, { namespace: argv.namespace, config: argv.config ? path.resolve(ctx.cwd, argv.config) : undefined, json: argv.json }));
    },
  );
}

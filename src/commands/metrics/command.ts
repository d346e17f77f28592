import type { Argv } from 'yargs';
import type { Context } from '../../core/context.js';

/** yargs declaration of `alphacore metrics`; the work is imported lazily. */
export function metricsCommand(yargs: Argv, ctx: Context, setExit: (code: number) => void): Argv {
  return yargs.command(
    'metrics',
    "Print the Prometheus metrics of the last update run (what METRICS_DIR/alphacore_<ns>.prom holds)",
    (y) =>
      y
        .option('namespace', { type: 'string', describe: 'PM2 namespace (default alphacore)' })
        .option('config', { type: 'string', describe: 'auto-update config file instead (its PM2_NAMESPACE names the namespace)' })
        .conflicts('namespace', 'config')
        .example('$0 metrics', 'the namespace alphacore')
        .example('$0 metrics --config ~/.config/alphacore/autoupdate/testnet.env', 'the namespace that config is for')
        .epilogue('Reads the state file only: no git, no PM2, no network. Set METRICS_DIR in the config (or launch --metrics-dir DIR) for every update run to write the file for node_exporter.'),
    async (argv) => {
      const { runMetrics } = await import('./run.js');
      const path = await import('node:path');
      setExit(runMetrics(ctx, { namespace: argv.namespace, config: argv.config ? path.resolve(ctx.cwd, argv.config) : undefined }));
    },
  );
}

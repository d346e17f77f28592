import type { Argv } from 'yargs';
import type { Context } from '../core/context.js';
import { UserError } from '../core/errors.js';

/**
 * yargs declarations of `alphacore logs` and `alphacore uninstall`; the work
 * is imported lazily. This wiring is where the process's own streams are met: the
 * terminal prompt, Ctrl-C and a reader that went away (`| head`).
 */
export function operatorCommands(yargs: Argv, ctx: Context, setExit: (code: number) => void): Argv {
  return yargs
    .command(
      'logs',
      'The updater\'s log and the last lines of both PM2 processes\' logs, one place to look; -f follows them',
      (y) =>
        y
          .option('namespace', { type: 'string', describe: 'PM2 namespace (default alphacore); process names come from its auto-update config' })
          .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing new lines of all of them until Ctrl-C' })
          // A string, checked here: yargs' number would turn `--lines abc` into NaN and take `--lines` alone as the default.
          .option('lines', { alias: 'n', type: 'string', default: '40', describe: 'how many last lines of each log' })
          .example('$0 logs', 'the namespace alphacore: updater, Validation API, validator')
          .example('$0 logs -f --lines 0', 'only what comes next, from all three')
          .example('$0 logs --namespace testnet | less', 'another namespace, in a pager'),
      async (argv) => {
        if (!/^\d+$/.test(argv.lines)) {
          throw new UserError(`--lines ${argv.lines} is not a whole number of lines.`, { hint: 'Use e.g. --lines 100 (0: none, with -f only new lines).' });
        }
        const lines = Number(argv.lines);
        const { runLogs } = await import('./logs/run.js');
        const stop = new AbortController();
        // A closed pipe (`alphacore logs | head`) or Ctrl-C ends the command quietly.
        const onError = (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EPIPE') throw error;
          stop.abort();
        };
        const onSignal = () => stop.abort();
        process.stdout.on('error', onError);
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const guarded: Context = { ...ctx, stdout: (text) => (stop.signal.aborted ? undefined : ctx.stdout(text)) };
        try {
          setExit(await runLogs(guarded, { namespace: argv.namespace, follow: argv.follow, lines }, stop.signal));
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      },
    )
    .command(
      'uninstall',
      'Remove the auto-update timer or crontab line, the namespace\'s PM2 processes and the config; keeps the clone, env files and venvs',
      (y) =>
        y
          .option('namespace', { type: 'string', describe: 'PM2 namespace to remove (default alphacore); other namespaces are never touched' })
          .option('keep-processes', { type: 'boolean', default: false, describe: 'leave the namespace\'s PM2 processes running' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask (needed without a terminal)' })
          .option('json', { type: 'boolean', default: false, describe: 'one JSON object: what was removed and what was left (needs --yes)' })
          .example('$0 uninstall', 'shows what goes and what stays, asks, then removes')
          .example('$0 uninstall --namespace testnet --keep-processes --yes', 'stop auto-updating testnet, keep its validator running'),
      async (argv) => {
        const { runUninstall } = await import('./uninstall/run.js');
        const confirm = process.stdin.isTTY ? ask : undefined;
        setExit(await runUninstall(ctx, { namespace: argv.namespace, keepProcesses: argv['keep-processes'], yes: argv.yes, json: argv.json }, confirm));
      },
    );
}

async function ask(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

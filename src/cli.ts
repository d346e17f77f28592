import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processContext } from './core/context.js';
import { tolerateClosedOutput, usageMiddleware } from './cli-usage.js';
import { colourAllowed } from './core/colour.js';
import { OperationError, UserError } from './core/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.resolve(here, '..');
const ctx = processContext(path.join(packageRoot, 'bin', 'alphacore.js'));

let exitCode = 0;
const setExit = (code: number) => {
  exitCode = code;
};

function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

async function paint(kind: 'error' | 'hint', text: string): Promise<string> {
  if (!colourAllowed(ctx.env, Boolean(process.stderr.isTTY))) return text;
  const { default: chalk } = await import('chalk');
  return kind === 'error' ? chalk.red(text) : chalk.dim(text);
}

async function report(error: unknown): Promise<number> {
  if (error instanceof UserError) {
    ctx.stderr(`${await paint('error', `alphacore: ${error.message}`)}\n`);
    if (error.hint) ctx.stderr(`${await paint('hint', error.hint)}\n`);
    return 2;
  }
  if (error instanceof OperationError) {
    ctx.stderr(`${await paint('error', `alphacore: ${error.message}`)}\n`);
    return 1;
  }
  ctx.stderr(`alphacore: unexpected error; this is a bug, please report it with the output below.\n${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}

/**
 * The timer runs exactly `update --config FILE` every two minutes. That one form skips
 * loading yargs (about a third of a no-op run's wall time); every other command line,
 * --help included, goes through yargs below.
 */
async function timerFastPath(argv: string[]): Promise<boolean> {
  if (argv.length !== 3 || argv[0] !== 'update' || argv[1] !== '--config' || !argv[2] || argv[2].startsWith('-')) return false;
  const { runUpdate } = await import('./commands/update/cycle.js');
  const config = path.resolve(ctx.cwd, argv[2]);
  try {
    exitCode = await runUpdate(ctx, { config, dryRun: false, force: false, json: false });
  } catch (error) {
    exitCode = await report(error);
  }
  return true;
}

async function main(): Promise<void> {
  tolerateClosedOutput();
  if (await timerFastPath(process.argv.slice(2))) {
    process.exitCode = exitCode;
    return;
  }
  // Declarations only: each command's work is imported by its handler.
  const [{ default: yargs }, { launchCommand }, { updateCommand }, { statusCommand }, { autoupdateCommand }, { metricsCommand }, { operatorCommands }] = await Promise.all([
    import('yargs'),
    import('./commands/launch/command.js'),
    import('./commands/update/command.js'),
    import('./commands/status/command.js'),
    import('./commands/autoupdate/command.js'),
    import('./commands/metrics/command.js'),
    import('./commands/operator-commands.js'),
  ]);
  let parser = yargs(process.argv.slice(2))
    .scriptName('alphacore')
    .usage('$0 <command> [options]\n\nLaunch an AlphaCore validator under PM2 and keep it on the newest release.')
    .version(version())
    .alias('v', 'version')
    .help()
    .alias('h', 'help')
    .middleware(usageMiddleware(process.argv.slice(2)), true)
    // yargs writes a bash script, or a zsh one when $SHELL is zsh.
    .completion('completion', 'Print the shell completion script (bash; zsh when $SHELL is zsh): alphacore completion >> ~/.bashrc')
    .strict()
    .demandCommand(1, 'Name a command: launch, update, status, autoupdate, metrics, logs or uninstall (see --help).')
    .recommendCommands()
    .example('$0 launch --wallet-name cold --hotkey hot --netuid 66 --network finney --gcp-creds-file ~/sa.json', 'start the validator and auto-update')
    .example('$0 status', 'is this machine healthy and up to date?')
    .example('$0 update --config ~/.config/alphacore/autoupdate/alphacore.env --dry-run', 'what the next update run would do')
    .example('$0 autoupdate status', 'the timer or crontab line')
    .example('$0 metrics', 'the Prometheus metrics of the last update run')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      if (error) throw error;
      throw new UserError(message ?? 'invalid usage', { hint: 'Run alphacore --help for the commands and their flags.' });
    });
  parser = launchCommand(parser, ctx, setExit);
  parser = updateCommand(parser, ctx, setExit);
  parser = statusCommand(parser, ctx, setExit);
  parser = autoupdateCommand(parser, ctx, setExit);
  parser = metricsCommand(parser, ctx, setExit);
  parser = operatorCommands(parser, ctx, setExit);
  try {
    await parser.parseAsync();
  } catch (error) {
    exitCode = await report(error);
  }
  process.exitCode = exitCode;
}

await main();

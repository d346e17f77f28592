import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processContext } from './core/context.js';
import { tolerateClosedOutput, usageMiddleware } from './cli-usage.js';
import { reportError } from './core/report-error.js';
import { UserError } from './core/errors.js';
import { jsonError } from './core/json-error.js';
import { completionHelp } from './completion-help.js';

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

/** The commands whose --json errors are one `{ ok: false, error }` object (core/json-error.ts). */
const JSON_ERRORS = new Set(['launch', 'status', 'autoupdate', 'uninstall']);

const report = (error: unknown): Promise<number> => reportError(ctx, error, Boolean(process.stderr.isTTY));

/**
 * The timer runs exactly `update --config FILE` every two minutes. bin/alphacore.js sends
 * that form to the bundled timer entry; reached here (`node dist/cli.js update --config F`,
 * the bench's unbundled row), it runs the same entry unbundled, without yargs. Every
 * other command line, --help included, goes through yargs below.
 */
async function timerFastPath(argv: string[]): Promise<boolean> {
  if (argv.length !== 3 || argv[0] !== 'update' || argv[1] !== '--config' || !argv[2] || argv[2].startsWith('-')) return false;
  const { runTimer } = await import('./timer-entry.js');
  await runTimer(argv[2]);
  return true;
}

async function main(): Promise<void> {
  tolerateClosedOutput();
  if (await timerFastPath(process.argv.slice(2))) return;
  if (completionHelp(process.argv.slice(2), ctx.stdout)) return;
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
  parser = launchCommand(parser, ctx, setExit, process.argv.slice(2));
  parser = updateCommand(parser, ctx, setExit);
  parser = statusCommand(parser, ctx, setExit);
  parser = autoupdateCommand(parser, ctx, setExit);
  parser = metricsCommand(parser, ctx, setExit);
  parser = operatorCommands(parser, ctx, setExit);
  try {
    await parser.parseAsync();
  } catch (error) {
    // With --json an error is one JSON object on stdout: here for yargs' own usage errors
    // (an unknown flag, a missing value) and for autoupdate's and uninstall's errors; launch
    // (with its plan) and status (also reached without yargs) print theirs themselves.
    // `update --json` speaks JSON lines ending in a result event instead.
    const words = process.argv.slice(2);
    const json = words.includes('--json') && JSON_ERRORS.has(words[0] ?? '') ? jsonError(error) : undefined;
    if (json) {
      ctx.stdout(`${JSON.stringify(json)}\n`);
      exitCode = json.error.exitCode;
    } else if (words[0] === 'update' && words.includes('--json') && error instanceof UserError) {
      // update --json: its result event, as for an invalid config (nothing ran, nothing changed).
      ctx.stdout(`${JSON.stringify({ event: 'result', outcome: 'invalid-usage', reason: error.message, ...(error.hint ? { hint: error.hint } : {}), from: null, to: null })}\n`);
      exitCode = 2;
    } else exitCode = await report(error);
  }
  process.exitCode = exitCode;
}

await main();

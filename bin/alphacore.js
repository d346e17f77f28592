#!/usr/bin/env node
// `update --config FILE` alone is what the timer runs every two minutes: a bundled entry
// that loads only what that run needs. A plain `status` (--json, --namespace NS or
// --config FILE) skips yargs too, to answer within its 2 s. Every other command line
// goes through the CLI.
const [command, flag, file, ...rest] = process.argv.slice(2);
if (command === 'update' && flag === '--config' && file && !file.startsWith('-') && rest.length === 0) {
  const { runTimer } = await import('../dist/timer/index.js');
  await runTimer(file);
} else if (!(command === 'status' && (await (await import('../dist/status/index.js')).runPlainStatus(process.argv.slice(3))))) {
  await import('../dist/cli.js');
}

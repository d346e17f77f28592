/**
 * The timer's entry: `alphacore update --config FILE`, exactly the command line the
 * systemd timer and the crontab line run every two minutes (bin/alphacore.js routes
 * it here). `npm run build` bundles this file with everything the run imports up
 * front into dist/timer/index.js (scripts/build-timer.mjs); what only an actual
 * update needs (the restart, PM2, the launch code, yargs) stays in chunks loaded on
 * demand. So a no-op run reads one file instead of resolving a hundred modules, and
 * never loads yargs or chalk.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runUpdate } from './commands/update/cycle.js';
import { processContext } from './core/context.js';
import { reportError } from './core/report-error.js';

// dist/timer/index.js (bundled) and dist/timer-entry.js (tsc) both sit under dist/.
const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.basename(here) === 'timer' ? path.resolve(here, '..', '..') : path.resolve(here, '..');

/** Runs `update --config <file>`; `file` as given on the command line. */
export async function runTimer(file: string): Promise<void> {
  const ctx = processContext(path.join(packageRoot, 'bin', 'alphacore.js'));
  let code: number;
  try {
    code = await runUpdate(ctx, { config: path.resolve(ctx.cwd, file), dryRun: false, force: false, json: false });
  } catch (error) {
    code = await reportError(ctx, error, Boolean(process.stderr.isTTY));
  }
  process.exitCode = code;
}

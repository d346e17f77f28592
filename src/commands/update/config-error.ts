import os from 'node:os';
import path from 'node:path';
import { readRegular } from '../../adapters/owned-files.js';
import { readConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { UserError } from '../../core/errors.js';
import { redact, UpdateLog } from '../../core/log.js';
import { readStateChecked, writeState } from '../../core/state.js';
import { targetOf } from '../../domain/metrics-publish.js';

/**
 * A config that does not parse or validate (§5 step 1) is never silent, even under a
 * timer whose output goes nowhere: the error goes to the namespace's log file and state
 * (the file's PM2_NAMESPACE when that line parses, else the file's name, as the timer
 * instance's), `status` shows
 * `state.configError`, and the webhook is told once per distinct error when its URL
 * can still be read from the file or the environment.
 */
export async function recordConfigError(ctx: Context, file: string, error: UserError): Promise<void> {
  const message = error.message;
  // The namespace the file names (PM2_NAMESPACE, when that line still parses), else the
  // file's name as the timer instance's: the one `status` and the metrics will read.
  const reading = readConfig({ file, env: ctx.env, paths: ctx.paths }, 'salvage');
  const base = targetOf(reading)?.namespace;
  if (!base) return;
  // NOTIFY_WEBHOOK_URL when it can still be read and is a URL (the environment's first).
  const webhook = reading.config.notifyWebhookUrl;
  const secrets = reading.config.secrets;
  const log = new UpdateLog({ ...ctx, stdout: () => undefined }, false);
  log.attach(ctx.paths.log(base), 5 * 1024 * 1024, secrets);
  log.error(`the config ${file} cannot be used; no update runs until it is fixed:`);
  for (const line of message.split('\n')) if (line.trim()) log.error(line.trim());
  log.close();
  const stateFile = ctx.paths.state(base);
  const { state } = readStateChecked(stateFile, ctx.paths.history(base), ctx.now());
  const problems = (error.problems.length > 0 ? error.problems : [message]).map((p) => redact(p, secrets));
  const repeated = JSON.stringify(state.configError?.problems) === JSON.stringify(problems);
  state.configError = { at: ctx.now().toISOString(), file, problems };
  try {
    await writeState(stateFile, state);
  } catch {
    // a full disk: the log line above (if it could be written) and stderr still say it
  }
  if (webhook && !repeated) {
    const { sendNotification } = await import('../../adapters/notify.js');
    const first = message.split('\n').slice(0, 4).join(' ');
    await sendNotification(webhook, { namespace: base, host: os.hostname(), outcome: 'invalid-config', summary: `the auto-update config ${file} is invalid; no update runs until it is fixed: ${redact(first, secrets)}` });
  }
}

/**
 * Only a config the timer could be running is recorded: one in the config folder, or
 * the one the namespace's timer or crontab line names. A typo on the command line, or a
 * scratch copy that names the same PM2_NAMESPACE, is the terminal's business: recording
 * it would put another file's error into a healthy namespace's status and metrics.
 */
export async function timerCouldRun(ctx: Context, file: string): Promise<boolean> {
  const absolute = path.resolve(ctx.cwd, file);
  if (path.dirname(absolute) === ctx.paths.autoupdateConfigDir) return true;
  if (!readable(absolute)) return false;
  const base = targetOf(readConfig({ file: absolute, env: ctx.env, paths: ctx.paths }, 'salvage'))?.namespace;
  if (!base) return false;
  const { timerRunsConfig } = await import('../../scheduler/runs-config.js');
  return timerRunsConfig(ctx, base, absolute);
}

function readable(file: string): boolean {
  try {
    return readRegular(file, 1) !== undefined;
  } catch {
    return false;
  }
}

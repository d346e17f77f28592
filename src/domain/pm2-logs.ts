import fs from 'node:fs';
import type { Pm2Process } from '../adapters/pm2.js';
import { describeFailure, run } from '../adapters/shell.js';
import type { Context } from '../core/context.js';
import { OperationError } from '../core/errors.js';

/**
 * PM2 appends the validator's and the API's output to `<repo>/logs/pm2/*.log` forever.
 * PM2's own answer is its pm2-logrotate module; these sizes suit a validator's chatty
 * log: rotate at 50 MB, keep 10 rotated files, gzip them (at most ~0.5 GB per process
 * before compression).
 */
export const LOGROTATE_MODULE = 'pm2-logrotate';
export const LOGROTATE_SETTINGS: readonly [string, string][] = [['max_size', '50M'], ['retain', '10'], ['compress', 'true']];
/** Above this, status suggests rotation (when pm2-logrotate is not running). */
export const LOGS_HINT_BYTES = 1024 ** 3;

export interface Pm2LogsView {
  /** Sum of the out and error log files of the namespace's processes. */
  bytes: number;
  files: number;
  /** pm2-logrotate runs in this PM2. */
  rotated: boolean;
}

/** The namespace's log files as PM2 lists them (out and error, each file once), with their size now. */
export function pm2Logs(namespaceProcs: readonly Pm2Process[], all: readonly Pm2Process[]): Pm2LogsView {
  const files = new Set<string>();
  for (const p of namespaceProcs) for (const f of [p.outLog, p.errorLog]) if (f && f !== '/dev/null') files.add(f);
  let bytes = 0;
  let counted = 0;
  for (const f of files) {
    try {
      bytes += fs.statSync(f).size;
      counted += 1;
    } catch {
      // not written yet
    }
  }
  return { bytes, files: counted, rotated: all.some((p) => p.name === LOGROTATE_MODULE && p.status === 'online') };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The commands, as an operator would type them. */
export function logrotateCommands(installed: boolean): string[] {
  return [...(installed ? [] : [`pm2 install ${LOGROTATE_MODULE}`]), ...LOGROTATE_SETTINGS.map(([k, v]) => `pm2 set ${LOGROTATE_MODULE}:${k} ${v}`)];
}

/**
 * Installs pm2-logrotate into the operator's PM2 (`pm2 install` fetches it from the npm
 * registry) unless it runs already, then sets its sizes. npm is told to fail fast (one
 * retry) so that an offline machine gets its reason in seconds, not after minutes of retries.
 */
export async function installLogrotate(ctx: Context, installed: boolean): Promise<string[]> {
  const bin = ctx.env.PM2_BIN || 'pm2';
  const lines: string[] = [];
  if (!installed) {
    const env = { npm_config_fetch_retries: '1', npm_config_fetch_timeout: '60000', ...ctx.env };
    const result = await run(bin, ['install', LOGROTATE_MODULE], { env, timeoutMs: 5 * 60_000, cwd: ctx.cwd });
    if (!result.ok) {
      const npm = `${result.stdout}\n${result.stderr}`.split('\n').find((l) => /npm error (code|errno) |ERR!|FetchError|reason:/.test(l))?.trim();
      throw new OperationError(
        `pm2 install ${LOGROTATE_MODULE} failed (${npm ?? describeFailure(result)}). It downloads the module from the npm registry: ` +
          `check that npm reaches it (npm ping; a proxy or company CA goes in npm's config), then run again, or later: ${logrotateCommands(false).join(' && ')}. The validator runs; its logs are not rotated.`,
      );
    }
    lines.push(`Installed ${LOGROTATE_MODULE} in PM2 (pm2 install ${LOGROTATE_MODULE}).`);
  }
  for (const [key, value] of LOGROTATE_SETTINGS) {
    const result = await run(bin, ['set', `${LOGROTATE_MODULE}:${key}`, value], { env: ctx.env, timeoutMs: 30_000, cwd: ctx.cwd });
    if (!result.ok) throw new OperationError(`pm2 set ${LOGROTATE_MODULE}:${key} ${value} failed: ${describeFailure(result)}. The validator runs; set it by hand.`);
  }
  lines.push(`PM2 log rotation: ${LOGROTATE_SETTINGS.map(([k, v]) => `${k} ${v}`).join(', ')} for every PM2 log of this user (pm2 conf ${LOGROTATE_MODULE} shows it).`);
  return lines;
}

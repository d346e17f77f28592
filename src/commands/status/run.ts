import type { Context } from '../../core/context.js';
import { colourAllowed } from '../../core/colour.js';
import { DEFAULTS } from '../../core/config.js';
import { jsonError } from '../../core/json-error.js';
import { checkNamespace } from '../../scheduler/spec.js';
import { collectStatus } from './collect.js';
import { readConfigView } from './config-view.js';
import { plain, renderStatus, type Paint } from './render.js';
import type { StatusReport } from './report.js';

export interface StatusFlags {
  namespace?: string;
  config?: string;
  json: boolean;
}

async function colours(ctx: Context): Promise<Paint> {
  if (!colourAllowed(ctx.env, ctx.isTTY)) return plain;
  const { Chalk } = await import('chalk');
  const chalk = new Chalk({ level: 1 });
  return { ok: chalk.green, warn: chalk.yellow, bad: chalk.red, dim: chalk.dim, bold: chalk.bold };
}

/**
 * `alphacore status` (DESIGN.md §7). Exit 0 whenever it could report, healthy or not:
 * the screen and the `advice` list say what needs attention, and a monitoring script
 * reads `--json`. Exit 2 only when the named config cannot be read at all; with
 * --json that error too is one JSON object on stdout (core/json-error.ts), whichever
 * way the command line came in (the plain-status entry or yargs both call this).
 */
export async function runStatus(ctx: Context, flags: StatusFlags): Promise<number> {
  let report: StatusReport;
  try {
    const namespace = flags.namespace ?? DEFAULTS.PM2_NAMESPACE;
    checkNamespace(namespace);
    const view = readConfigView(ctx, { config: flags.config, namespace });
    report = await collectStatus(ctx, view);
  } catch (error) {
    const json = flags.json ? jsonError(error) : undefined;
    if (!json) throw error;
    ctx.stdout(`${JSON.stringify(json, null, 2)}\n`);
    return json.error.exitCode;
  }
  if (flags.json) ctx.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.stdout(renderStatus(report, await colours(ctx)));
  return 0;
}

import path from 'node:path';
import { DEFAULTS, readConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { checkNamespace } from '../../scheduler/spec.js';
import { pm2Processes } from '../../domain/pm2-processes.js';
import { Follower, lastLines } from './tail.js';

export interface LogsFlags {
  namespace?: string;
  follow: boolean;
  lines: number;
}

interface Source {
  label: string;
  file?: string;
  /** Why there is no file to show. */
  note?: string;
}

/**
 * The config's process names (VALIDATION_PROCESS_NAME, VALIDATOR_PROCESS_NAME), as update
 * and status name them; read in salvage mode: a config with a bad line still names them.
 */
function processNames(ctx: Context, namespace: string): { names: string[]; configFile: string; found: boolean } {
  const configFile = ctx.paths.autoupdateConfig(namespace);
  const { found, config, given } = readConfig({ file: configFile, env: ctx.env, paths: ctx.paths }, 'salvage');
  if (found !== 'read') return { names: [], configFile, found: false };
  // The default validator name needs the hotkey and the network; without them it is unknown.
  const validator = given.has('VALIDATOR_PROCESS_NAME') || (config.walletHotkey && config.network) ? [config.validatorProcessName] : [];
  return { names: [config.validationProcessName, ...validator], configFile, found: true };
}

async function sources(ctx: Context, namespace: string): Promise<Source[]> {
  const list: Source[] = [{ label: 'updater', file: ctx.paths.log(namespace) }];
  const { names, configFile, found } = processNames(ctx, namespace);
  const { procs, problem } = await pm2Processes(ctx, namespace);
  // Without a config, every process of the namespace is shown (launch never ran here, or it was removed).
  const wanted = found ? names : [...new Set(procs.map((p) => p.name))];
  if (!found) list[0]!.note = `no auto-update config ${configFile}; showing every PM2 process of namespace ${namespace}`;
  for (const name of wanted) {
    const proc = procs.find((p) => p.name === name);
    if (!proc) {
      list.push({ label: name, note: problem ?? `no PM2 process ${name} in namespace ${namespace}` });
      continue;
    }
    list.push({ label: `${name} out`, file: proc.outLog }, { label: `${name} err`, file: proc.errorLog });
  }
  if (!found && wanted.length === 0) list.push({ label: 'pm2', note: problem ?? `no PM2 process in namespace ${namespace}` });
  return list;
}

/**
 * `alphacore logs`: the updater's log and the last lines of the namespace's two PM2
 * processes (stdout and stderr), one place to look; `-f` follows them all, each line
 * prefixed with its source, until interrupted (`signal`).
 */
export async function runLogs(ctx: Context, flags: LogsFlags, signal: AbortSignal): Promise<number> {
  const namespace = flags.namespace ?? DEFAULTS.PM2_NAMESPACE;
  checkNamespace(namespace);
  const list = await sources(ctx, namespace);
  const followed: { label: string; file: string; offset: number }[] = [];
  for (const source of list) {
    if (signal.aborted) return 0;
    if (!source.file) {
      ctx.stdout(`==> ${source.label}: ${source.note} <==\n\n`);
      continue;
    }
    const tail = lastLines(source.file, flags.lines);
    ctx.stdout(`==> ${source.label}: ${source.file}${tail ? ` (last ${Math.min(flags.lines, tail.lines.length)} lines)` : ' (no such file yet)'} <==\n`);
    if (source.note) ctx.stdout(`(${source.note})\n`);
    if (tail && tail.lines.length > 0) ctx.stdout(`${tail.lines.join('\n')}\n`);
    ctx.stdout('\n');
    followed.push({ label: source.label, file: source.file, offset: tail?.size ?? 0 });
  }
  if (!flags.follow || signal.aborted) return 0;
  ctx.stdout(`Following ${followed.map((f) => path.basename(f.file)).join(', ')} (Ctrl-C to stop)\n`);
  await new Follower(followed, (label, line) => ctx.stdout(`[${label}] ${line}\n`)).run(signal);
  return 0;
}

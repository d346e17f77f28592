import fs from 'node:fs';
import path from 'node:path';
import * as cron from '../adapters/cron.js';
import * as systemd from '../adapters/systemd.js';
import { readConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { parseInterval, type Interval } from '../core/interval.js';
import { SERVICE_TEMPLATE, TIMER_TEMPLATE, timerUnit, type Templates } from '../render/scheduler.js';
import {
  bashCronLines, bashTimerInterval, parseBashService, servesNamespace, withoutLines,
  type BashCronLine, type BashServiceUnit,
} from './bash-legacy.js';
import { runSpec } from './spec.js';
import { planSystemd } from './systemd-backend.js';

/**
 * Finds and replaces the bash updater of a namespace (DESIGN.md §6, migration):
 * its crontab line(s), or its systemd instance. The systemd template is shared by
 * name with ours, so installing ours replaces the bash template for every instance
 * at once; each other bash instance is then decided here, never left to run our
 * template without a config:
 *   - it served this namespace too (the bash template's config is this namespace's): disabled;
 *   - it served its own namespace (the baked config names it): converted, ours now runs
 *     that same config, read unchanged;
 *   - its config cannot be read: disabled, with the command that brings it back.
 */
export interface BashInstance {
  namespace: string;
  action: 'replace' | 'disable' | 'convert' | 'ours-again';
}

export interface BashUpdaters {
  cronLines: BashCronLine[];
  systemd?: { unit: BashServiceUnit; interval?: string; instances: BashInstance[]; servesTarget: boolean };
  /** The clone the bash updater ran in, for a bash-era config without REPO_DIR. */
  repo?: string;
}

/**
 * PM2_NAMESPACE of a config file, from the file alone (another instance's config: this
 * shell's environment is not its timer's); undefined when a line of it cannot be read
 * or the namespace is invalid.
 */
export function configNamespace(ctx: Context, file: string): string | undefined {
  const reading = readConfig({ file, env: {}, paths: ctx.paths }, 'salvage');
  if (reading.found !== 'read' || reading.lineProblems.length > 0 || reading.invalid.has('PM2_NAMESPACE')) return undefined;
  return reading.config.namespace;
}

/** Whether a config file sets REPO_DIR itself (bash-era configs do not: the script's clone was implied). */
export function configHasRepoDir(ctx: Context, file: string): boolean {
  const reading = readConfig({ file, env: {}, paths: ctx.paths }, 'salvage');
  return reading.found === 'read' && reading.lineProblems.length === 0 && reading.given.has('REPO_DIR');
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Instances enabled under timers.target.wants (how `systemctl enable` records them). */
function enabledInstances(ctx: Context): string[] {
  try {
    return fs
      .readdirSync(path.join(ctx.paths.systemdUserDir, 'timers.target.wants'))
      .flatMap((name) => /^alphacore-autoupdate@(.+)\.timer$/.exec(name)?.[1] ?? []);
  } catch {
    return [];
  }
}

const ourDropIn = (ctx: Context, ns: string) =>
  fs.existsSync(path.join(ctx.paths.systemdUserDir, `alphacore-autoupdate@${ns}.service.d`, 'alphacore.conf'));

export async function findBashUpdaters(ctx: Context, target: { namespace: string; configFile: string }): Promise<BashUpdaters> {
  const nsOf = (file: string) => configNamespace(ctx, file);
  const found: BashUpdaters = { cronLines: [] };
  // No crontab program (or none readable) means no bash crontab line either.
  const lines = bashCronLines(await cron.readCrontab(ctx).catch(() => ''));
  found.cronLines = lines.filter((l) => servesNamespace({ config: l.config, fallbackNamespace: l.logNamespace }, target, nsOf));
  found.repo = found.cronLines.find((l) => l.repo)?.repo;
  const serviceText = readText(path.join(ctx.paths.systemdUserDir, SERVICE_TEMPLATE));
  const unit = serviceText === undefined ? undefined : parseBashService(serviceText);
  if (unit) {
    const bakedNs = nsOf(unit.config);
    const servesTarget = servesNamespace({ config: unit.config }, target, nsOf);
    const instances = enabledInstances(ctx).map((ns): BashInstance => {
      if (ns === target.namespace) return { namespace: ns, action: 'replace' };
      if (ourDropIn(ctx, ns)) return { namespace: ns, action: 'ours-again' };
      if (!servesTarget && bakedNs === ns) return { namespace: ns, action: 'convert' };
      return { namespace: ns, action: 'disable' };
    });
    const interval = bashTimerInterval(readText(path.join(ctx.paths.systemdUserDir, TIMER_TEMPLATE)) ?? '');
    found.systemd = { unit, interval, instances, servesTarget };
    found.repo ??= unit.repo;
  }
  return found;
}

const would = (dryRun: boolean, done: string, would: string) => (dryRun ? would : done);

/** Human lines for the bash crontab lines replaced (or, in a dry run, to be replaced). */
export function describeCronTakeover(found: BashUpdaters, namespace: string, dryRun: boolean): string[] {
  return found.cronLines.map((l) => `${would(dryRun, 'Replaced', 'Would replace')} the bash updater's crontab line for namespace ${namespace}: ${l.line}`);
}

/** Human lines for the bash systemd units replaced (or, in a dry run, to be replaced). */
export function describeSystemdTakeover(found: BashUpdaters, namespace: string, dryRun: boolean): string[] {
  const sd = found.systemd;
  if (!sd) return [];
  const w = (done: string, wouldDo: string) => would(dryRun, done, wouldDo);
  const lines = [`${w('Replaced', 'Would replace')} the bash updater's systemd template ${SERVICE_TEMPLATE} (it ran autoupdate_release.sh --config ${sd.unit.config} for every instance) with alphacore's.`];
  for (const i of sd.instances) {
    const unit = timerUnit(i.namespace);
    if (i.action === 'replace') lines.push(`  ${unit}: ${w('now runs', 'would run')} alphacore update for namespace ${namespace}.`);
    if (i.action === 'ours-again') lines.push(`  ${unit}: ${w('runs', 'would run')} alphacore update again with its own config (the bash script had overwritten the template).`);
    if (i.action === 'convert') lines.push(`  ${unit}: ${w('now runs', 'would run')} alphacore update --config ${sd.unit.config}, the config its bash updater ran (read unchanged).`);
    if (i.action === 'disable' && sd.servesTarget) {
      lines.push(`  ${unit}: ${w('stopped and disabled', 'would stop and disable')}: it ran namespace ${namespace}'s bash updater too (the bash template bakes one config into every instance).`);
    } else if (i.action === 'disable') {
      lines.push(`  ${unit}: ${w('stopped and disabled', 'would stop and disable')}: it ran the bash updater with ${sd.unit.config}, which is not namespace ${i.namespace}'s config. ` +
        `Give it its own with: alphacore autoupdate enable --config <namespace ${i.namespace}'s config>`);
    }
  }
  return lines;
}

/** Removes the given bash lines from the crontab (every other line untouched). */
export async function removeBashCronLines(ctx: Context, lines: readonly BashCronLine[]): Promise<void> {
  if (lines.length === 0) return;
  const before = await cron.readCrontab(ctx);
  const after = withoutLines(before, lines.map((l) => l.line));
  if (after !== before) await cron.writeCrontab(ctx, after);
}

/** Stops and disables the bash instances that must not run our template. */
export async function disableBashInstances(ctx: Context, found: BashUpdaters): Promise<void> {
  for (const i of found.systemd?.instances ?? []) {
    if (i.action === 'disable') await systemd.disableNow(ctx, timerUnit(i.namespace));
  }
}

/**
 * Without a user manager (the crontab path) the bash template stays as it is and
 * other namespaces' bash instances with it; only the instances that would run this
 * namespace's update beside our crontab line lose their enable link, so that a
 * manager started later does not start them. Returns the units unlinked.
 */
export function unlinkBashInstances(ctx: Context, found: BashUpdaters, namespace: string): string[] {
  const sd = found.systemd;
  if (!sd) return [];
  const unlinked: string[] = [];
  for (const i of sd.instances) {
    if (i.action === 'ours-again' || (i.namespace !== namespace && !sd.servesTarget)) continue;
    fs.rmSync(path.join(ctx.paths.systemdUserDir, 'timers.target.wants', timerUnit(i.namespace)), { force: true });
    unlinked.push(timerUnit(i.namespace));
  }
  return unlinked;
}

/**
 * For status: a bash updater still installed for the namespace (not yet replaced,
 * or put back by the bash scripts), in one sentence with the fix; undefined when none.
 */
export async function bashStatusNote(ctx: Context, namespace: string): Promise<string | undefined> {
  const found = await findBashUpdaters(ctx, { namespace, configFile: ctx.paths.autoupdateConfig(namespace) });
  const what = [
    ...(found.cronLines.length > 0 ? ['crontab line'] : []),
    ...(found.systemd?.instances.some((i) => i.action !== 'ours-again' && (i.namespace === namespace || found.systemd!.servesTarget)) ? ['systemd units'] : []),
  ];
  if (what.length === 0) return undefined;
  return `the bash updater's ${what.join(' and ')} (autoupdate_release.sh) still run${what.length > 1 ? '' : 's'} for this namespace; ` +
    `replace ${what.length > 1 ? 'them' : 'it'} with: alphacore autoupdate enable --namespace ${namespace}`;
}

/**
 * The other namespaces whose bash instance ran their own config through the shared
 * template: ours replaces that template, so ours runs their config from now on
 * (read unchanged; REPO_DIR from the bash unit when the config has none).
 */
export function convertedInstances(ctx: Context, templates: Templates, bash: BashUpdaters, fallback: Interval) {
  const sd = bash.systemd;
  if (!sd) return [];
  let interval = fallback;
  try {
    if (sd.interval) interval = parseInterval(sd.interval, 'OnUnitActiveSec of the bash timer');
  } catch {
    // an interval systemd took but we do not: keep the requested one
  }
  return sd.instances
    .filter((i) => i.action === 'convert')
    .map((i) => {
      const repo = sd.unit.repo && !configHasRepoDir(ctx, sd.unit.config) ? [['REPO_DIR', sd.unit.repo] as [string, string]] : [];
      return { namespace: i.namespace, planned: planSystemd(ctx, templates, runSpec(ctx, i.namespace, sd.unit.config, interval, repo)) };
    });
}

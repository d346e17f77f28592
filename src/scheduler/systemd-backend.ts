import fs from 'node:fs';
import path from 'node:path';
import * as systemd from '../adapters/systemd.js';
import { writeAtomic } from '../adapters/atomic-write.js';
import type { Context } from '../core/context.js';
import {
  DROP_IN_NAME, SERVICE_TEMPLATE, TIMER_TEMPLATE, UNIT_PREFIX, renderServiceDropIn, renderServiceTemplate,
  renderTimerDropIn, renderTimerTemplate, serviceUnit, timerUnit, type RunSpec, type Templates,
} from '../render/scheduler.js';

/** The systemd user timer: template units shared by all namespaces + per-namespace drop-ins. */
export interface PlannedFile {
  path: string;
  content: string;
  mode: number;
}

/** systemd's user data folder ($XDG_DATA_HOME, else ~/.local/share), where it keeps a Persistent timer's stamp. */
export function userDataDir(ctx: Context): string {
  const data = ctx.env.XDG_DATA_HOME;
  return data && path.isAbsolute(data) ? data : path.join(ctx.paths.home, '.local', 'share');
}

export function unitFiles(ctx: Context, namespace: string) {
  const dir = ctx.paths.systemdUserDir;
  return {
    /** Written by systemd (Persistent=true): when the timer last fired. */
    stamp: path.join(userDataDir(ctx), 'systemd', 'timers', `stamp-${timerUnit(namespace)}`),
    service: path.join(dir, SERVICE_TEMPLATE),
    timer: path.join(dir, TIMER_TEMPLATE),
    serviceDropIn: path.join(dir, `${serviceUnit(namespace)}.d`, DROP_IN_NAME),
    timerDropIn: path.join(dir, `${timerUnit(namespace)}.d`, DROP_IN_NAME),
    wants: path.join(dir, 'timers.target.wants', timerUnit(namespace)),
  };
}

export function planSystemd(ctx: Context, templates: Templates, spec: RunSpec): PlannedFile[] {
  const files = unitFiles(ctx, spec.namespace);
  return [
    { path: files.service, content: renderServiceTemplate(templates, spec), mode: 0o644 },
    { path: files.timer, content: renderTimerTemplate(templates), mode: 0o644 },
    { path: files.serviceDropIn, content: renderServiceDropIn(templates, spec), mode: 0o644 },
    { path: files.timerDropIn, content: renderTimerDropIn(templates, spec), mode: 0o644 },
  ];
}

export async function applySystemd(ctx: Context, planned: PlannedFile[], namespace: string): Promise<systemd.TimerInfo & { changed: boolean }> {
  const unit = timerUnit(namespace);
  const stale = planned.filter((file) => readText(file.path) !== file.content);
  // Same files, timer enabled and running: nothing to do, so a re-run of launch (or of
  // the fleet's site.yml) changes nothing and does not reset the timer's schedule.
  if (stale.length === 0 && (await systemd.unitEnabled(ctx, unit))) {
    const info = await systemd.timerInfo(ctx, unit);
    if (info.active) return { ...info, changed: false };
  }
  for (const file of stale) writeAtomic(file.path, file.content, { mode: file.mode, dirMode: 0o700, durable: true });
  await systemd.daemonReload(ctx);
  await systemd.enableUnit(ctx, unit);
  await systemd.restartUnit(ctx, unit);
  return { ...(await systemd.timerInfo(ctx, unit)), changed: true };
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether this namespace has unit files of ours on disk. */
export function hasSystemdFiles(ctx: Context, namespace: string): boolean {
  const files = unitFiles(ctx, namespace);
  return fs.existsSync(files.serviceDropIn) || fs.existsSync(files.timerDropIn) || isLink(files.wants);
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Other namespaces still using the shared templates (their drop-in or enable link). */
function otherInstances(ctx: Context, namespace: string): string[] {
  const dir = ctx.paths.systemdUserDir;
  const names = new Set<string>();
  const pattern = new RegExp(`^${UNIT_PREFIX}@(.+)\\.(service|timer)(\\.d)?$`);
  for (const where of [dir, path.join(dir, 'timers.target.wants')]) {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(where);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const m = pattern.exec(entry);
      if (m && m[1] !== namespace) names.add(m[1]!);
    }
  }
  return [...names];
}

/** One step of removing a namespace's timer; planned first so that a dry run can say it and do nothing. */
export type RemovalStep =
  | { kind: 'disable'; unit: string }
  | { kind: 'unlink'; file: string }
  | { kind: 'drop-in'; file: string }
  | { kind: 'stamp'; file: string }
  | { kind: 'template'; file: string };

/**
 * What removing the namespace's timer takes: what install wrote for it, and the shared
 * templates once no other namespace uses them. Reads only.
 */
export async function planRemoveSystemd(ctx: Context, namespace: string, managerUp: boolean): Promise<RemovalStep[]> {
  const files = unitFiles(ctx, namespace);
  const steps: RemovalStep[] = [];
  const unit = timerUnit(namespace);
  if (managerUp && (await systemd.unitEnabled(ctx, unit) || (await systemd.timerInfo(ctx, unit)).active)) steps.push({ kind: 'disable', unit });
  else if (isLink(files.wants)) steps.push({ kind: 'unlink', file: files.wants });
  for (const file of [files.serviceDropIn, files.timerDropIn]) if (fs.existsSync(file)) steps.push({ kind: 'drop-in', file });
  if (fs.existsSync(files.stamp)) steps.push({ kind: 'stamp', file: files.stamp });
  if (otherInstances(ctx, namespace).length === 0) {
    for (const file of [files.service, files.timer]) {
      if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('Installed by alphacore-launcher')) steps.push({ kind: 'template', file });
    }
  }
  return steps;
}

/** A step as the operator reads it: done, or (dry run) what would be done. */
export function describeRemoval(step: RemovalStep, dryRun: boolean): string {
  if (step.kind === 'disable') return dryRun ? `Would stop and disable ${step.unit}.` : `Stopped and disabled ${step.unit}.`;
  const shared = step.kind === 'template' ? ' (no other namespace uses it)' : step.kind === 'stamp' ? " (systemd's record of the timer's last run)" : '';
  return `${dryRun ? 'Would remove' : 'Removed'} ${step.file}${shared}.`;
}

export async function applyRemoveSystemd(ctx: Context, steps: readonly RemovalStep[], managerUp: boolean): Promise<void> {
  for (const step of steps) {
    if (step.kind === 'disable') {
      await systemd.disableNow(ctx, step.unit);
      continue;
    }
    fs.rmSync(step.file, { force: step.kind === 'stamp' });
    if (step.kind !== 'drop-in') continue;
    try {
      fs.rmdirSync(path.dirname(step.file)); // only when empty: an operator's own drop-ins stay
    } catch {
      // not empty
    }
  }
  if (managerUp && steps.length > 0) await systemd.daemonReload(ctx);
}

/** Removes the namespace's timer (see planRemoveSystemd); returns human lines saying what went. */
export async function removeSystemd(ctx: Context, namespace: string, managerUp: boolean): Promise<string[]> {
  const steps = await planRemoveSystemd(ctx, namespace, managerUp);
  await applyRemoveSystemd(ctx, steps, managerUp);
  return steps.map((step) => describeRemoval(step, false));
}

/** The interval in the namespace's timer drop-in, when there is one. */
export function installedInterval(ctx: Context, namespace: string): string | undefined {
  try {
    return /^OnUnitActiveSec=(.+)$/m.exec(fs.readFileSync(unitFiles(ctx, namespace).timerDropIn, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

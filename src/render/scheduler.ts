import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Interval } from '../core/interval.js';
import { cronWord, systemdEnvironment, systemdExecArg, systemdExecutable } from './escape.js';

/**
 * Renders the scheduler's files from templates/ (DESIGN.md §6). Pure given the
 * template texts: `loadTemplates()` reads them from the installed package.
 */
export const UNIT_PREFIX = 'alphacore-autoupdate';
export const SERVICE_TEMPLATE = `${UNIT_PREFIX}@.service`;
export const TIMER_TEMPLATE = `${UNIT_PREFIX}@.timer`;
export const DROP_IN_NAME = 'alphacore.conf';
export const CRON_MARKER = '# alphacore-autoupdate:';

export const serviceUnit = (namespace: string): string => `${UNIT_PREFIX}@${namespace}.service`;
export const timerUnit = (namespace: string): string => `${UNIT_PREFIX}@${namespace}.timer`;

export interface Templates {
  service: string;
  timer: string;
  serviceDropIn: string;
  timerDropIn: string;
  cronLine: string;
}

const TEMPLATE_FILES: Record<keyof Templates, string> = {
  service: SERVICE_TEMPLATE,
  timer: TIMER_TEMPLATE,
  serviceDropIn: 'alphacore-autoupdate-service.conf',
  timerDropIn: 'alphacore-autoupdate-timer.conf',
  cronLine: 'crontab-line.txt',
};

/** templates/ of this package (dist/render/ -> ../../templates). */
export function templatesDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates');
}

export function loadTemplates(dir = templatesDir()): Templates {
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
  return Object.fromEntries(Object.entries(TEMPLATE_FILES).map(([k, f]) => [k, read(f)])) as unknown as Templates;
}

/** What the scheduled run needs: one value per placeholder, unescaped. */
export interface RunSpec {
  namespace: string;
  nodePath: string;
  cliPath: string;
  configFile: string;
  /** Variables the run needs from the launch environment (PATH first), in order. */
  environment: [string, string][];
  interval: Interval;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template placeholder ${whole} has no value`);
    return value;
  });
}

export function renderServiceTemplate(templates: Templates, spec: Pick<RunSpec, 'nodePath' | 'cliPath'>): string {
  return fill(templates.service, {
    NODE: systemdExecutable(spec.nodePath, 'the node path'),
    CLI: systemdExecArg(spec.cliPath, 'the alphacore CLI path'),
  });
}

export function renderTimerTemplate(templates: Templates): string {
  return templates.timer;
}

export function renderServiceDropIn(templates: Templates, spec: RunSpec): string {
  const lines = [
    systemdEnvironment('ALPHACORE_AUTOUPDATE_CONFIG', spec.configFile, 'the auto-update config path'),
    ...spec.environment.map(([name, value]) => systemdEnvironment(name, value, name)),
  ];
  return fill(templates.serviceDropIn, { NAMESPACE: spec.namespace, ENVIRONMENT: lines.join('\n') });
}

/** A little jitter keeps many machines from hitting the remote at the same second. */
export function randomDelaySeconds(interval: Interval): number {
  return Math.min(30, Math.floor(interval.ms / 10_000));
}

export function renderTimerDropIn(templates: Templates, spec: Pick<RunSpec, 'namespace' | 'interval'>): string {
  return fill(templates.timerDropIn, {
    NAMESPACE: spec.namespace,
    ON_ACTIVE: spec.interval.systemd,
    INTERVAL: spec.interval.systemd,
    RANDOM_DELAY: `${randomDelaySeconds(spec.interval)}s`,
  });
}

/** The crontab entry, one line ending with the marker that finds it again. */
export function renderCronLine(templates: Templates, spec: RunSpec, schedule: string): string {
  const words = [
    ...spec.environment.map(([name, value]) => `${name}=${cronWord(value, name)}`),
    cronWord(spec.nodePath, 'the node path'),
    cronWord(spec.cliPath, 'the alphacore CLI path'),
    'update',
    '--config',
    cronWord(spec.configFile, 'the auto-update config path'),
  ];
  return fill(templates.cronLine, { SCHEDULE: schedule, COMMAND: words.join(' '), NAMESPACE: spec.namespace }).replace(/\n$/, '');
}

export function cronMarker(namespace: string): string {
  return `${CRON_MARKER}${namespace}`;
}

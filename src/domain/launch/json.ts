import { pm2StartArgs } from '../../adapters/pm2.js';
import { jsonError } from '../../core/json-error.js';
import { redact } from '../../core/log.js';
import type { ApplyResult } from './apply.js';
import type { LaunchPlan, PlannedFile } from './plan.js';
import type { DryRunFacts } from './print.js';

/**
 * `launch --json`: one object on stdout holding the plan and the result, so a
 * provisioning script reads what was decided and what happened in one parse. Secrets
 * are masked exactly as in the human output.
 */
const file = (f: PlannedFile) => ({ path: f.path, mode: `0${f.mode.toString(8)}`, content: f.content });

export function planJson(plan: LaunchPlan): Record<string, unknown> {
  const o = plan.options;
  return {
    repoDir: o.repoDir,
    namespace: o.namespace,
    processName: o.processName,
    venvDir: o.venvDir,
    envFile: file(plan.envFile),
    pm2: { ...plan.pm2App, command: ['pm2', ...pm2StartArgs(plan.pm2App)] },
    autoupdateConfig: plan.autoupdateConfig ? file(plan.autoupdateConfig) : null,
    scheduler: plan.scheduler ? { interval: plan.scheduler.interval, configFile: plan.scheduler.configFile, enableLinger: plan.scheduler.enableLinger } : null,
    register: plan.register ? ['btcli', ...plan.register] : null,
  };
}

export function dryRunJson(plan: LaunchPlan, facts: DryRunFacts): string {
  const current = (f: PlannedFile | undefined) => (f ? (facts.current(f.path) === undefined ? 'would create' : facts.current(f.path) === f.content ? 'unchanged' : 'would update') : undefined);
  const result = {
    dryRun: true,
    venv: facts.venv,
    pm2: facts.pm2,
    envFile: current(plan.envFile),
    autoupdateConfig: current(plan.autoupdateConfig) ?? null,
    scheduler: facts.scheduler ?? null,
    notes: facts.notes ?? [],
  };
  return `${redact(JSON.stringify({ ok: true, plan: planJson(plan), result }), plan.secrets)}\n`;
}

export function resultJson(plan: LaunchPlan, result: ApplyResult, messages: string[]): string {
  return `${redact(JSON.stringify({ ok: true, plan: planJson(plan), result: { dryRun: false, ...result, messages } }), plan.secrets)}\n`;
}

/** An error as JSON (core/json-error.ts) with the plan; the exit code stays what the human CLI would return (2 usage, 1 operation). */
export function errorJson(error: unknown, plan: LaunchPlan | undefined, messages: string[]): { text: string; exitCode: number } | undefined {
  const base = jsonError(error);
  if (!base) return undefined;
  const body = { ...base, plan: plan ? planJson(plan) : null, messages };
  return { text: `${redact(JSON.stringify(body), plan?.secrets ?? [])}\n`, exitCode: base.error.exitCode };
}

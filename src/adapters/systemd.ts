import fs from 'node:fs';
import type { Context } from '../core/context.js';
import { OperationError } from '../core/errors.js';
import { describeFailure, run, type RunResult } from './shell.js';
import { userBus } from './user-bus.js';

/** `systemctl --user` verbs, plus linger (logind) for the user. */
const PROBE_TIMEOUT_MS = 5_000;
const TIMEOUT_MS = 30_000;

function systemctl(ctx: Context, args: string[], timeoutMs = TIMEOUT_MS): Promise<RunResult> {
  return run('systemctl', ['--user', '--no-ask-password', ...args], { env: userBus(ctx.env, ctx.uid).env, timeoutMs });
}

async function must(ctx: Context, args: string[]): Promise<RunResult> {
  const result = await systemctl(ctx, args);
  if (!result.ok) throw new OperationError(`systemctl --user failed: ${describeFailure(result)}`);
  return result;
}

/** Whether a user manager answers for this user (XDG_RUNTIME_DIR, else the user's /run/user/<uid>: user-bus.ts). */
export async function userManagerAvailable(ctx: Context): Promise<{ ok: boolean; why: string; unreachable?: string }> {
  const bus = userBus(ctx.env, ctx.uid);
  const result = await systemctl(ctx, ['show-environment'], PROBE_TIMEOUT_MS);
  if (result.ok) return { ok: true, why: bus.source === 'found' ? `systemctl --user answered through ${bus.env.XDG_RUNTIME_DIR}` : 'systemctl --user answered' };
  // `unreachable`: this session cannot reach a manager that may well run (not: no manager runs).
  return { ok: false, why: describeFailure(result), ...(bus.why ? { unreachable: bus.why } : {}) };
}

export const daemonReload = (ctx: Context) => must(ctx, ['daemon-reload']);
export const enableUnit = (ctx: Context, unit: string) => must(ctx, ['enable', unit]);
/** restart, so a changed interval applies now, not at the next login. */
export const restartUnit = (ctx: Context, unit: string) => must(ctx, ['restart', unit]);
/** Stops the timer only: an update running right now is left to finish. */
export const disableNow = (ctx: Context, unit: string) => must(ctx, ['disable', '--now', unit]);

export async function unitEnabled(ctx: Context, unit: string): Promise<boolean> {
  const result = await systemctl(ctx, ['is-enabled', unit]);
  return result.ok;
}

/** A oneshot service is `activating` for as long as its run lasts. */
export async function unitActivating(ctx: Context, unit: string): Promise<boolean> {
  return (await systemctl(ctx, ['is-active', unit])).stdout.trim() === 'activating';
}

export interface TimerInfo {
  active: boolean;
  enabled: boolean;
  nextRun?: string;
  lastRun?: string;
}

export async function timerInfo(ctx: Context, unit: string): Promise<TimerInfo> {
  const active = (await systemctl(ctx, ['is-active', unit])).stdout.trim() === 'active';
  const enabled = await unitEnabled(ctx, unit);
  const info: TimerInfo = { active, enabled };
  const listed = await systemctl(ctx, ['list-timers', '--all', '--output=json', unit]);
  if (listed.ok) {
    try {
      const row = (JSON.parse(listed.stdout) as { unit: string; next?: number; last?: number }[]).find((r) => r.unit === unit);
      // microseconds since the epoch; 0 or absent when there is none
      if (row?.next) info.nextRun = new Date(row.next / 1000).toISOString();
      if (row?.last) info.lastRun = new Date(row.last / 1000).toISOString();
    } catch {
      // older systemd without JSON output: leave the times unknown
    }
  }
  return info;
}

export function lingerEnabled(user: string): boolean {
  return fs.existsSync(`/var/lib/systemd/linger/${user}`);
}

export async function enableLinger(ctx: Context, user: string): Promise<RunResult> {
  return run('loginctl', ['--no-ask-password', 'enable-linger', user], { env: ctx.env, timeoutMs: TIMEOUT_MS });
}

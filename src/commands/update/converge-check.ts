import fs from 'node:fs';
import { daemonPid, pm2Home } from '../../adapters/pm2-home.js';
import { running } from '../../adapters/pm2-orphans.js';
import { pm2PidFilePids } from '../../adapters/pm2-pidfiles.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { lastOutcome } from '../../core/metrics.js';
import type { UpdateState } from '../../core/state.js';
import { apiDisabled } from './deploy-plan.js';
import type { RestartDecision } from './outcome.js';
import type { LiveRun } from './run.js';

/** What the convergence check (§5.5) leaves for the rest of the run. */
export interface Converged {
  /** The run ends here (restored, or a restore that failed). */
  decision?: RestartDecision;
  /** The commit the namespace runs (or was restored) at. */
  head?: string;
  /** The namespace is down and stays down this run (a restore not due yet): never `up-to-date`. */
  down?: string;
}

/** The names the namespace runs: the Validation API (unless disabled) and the validator. */
export function expectedNames(config: AutoupdateConfig): { api?: string; validator: string } {
  return { ...(apiDisabled(config) ? {} : { api: config.validationProcessName }), validator: config.validatorProcessName };
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * The cheap answer, from files only (no socket, no process, a few reads): a live PM2
 * daemon, and each expected process's pid file naming a live child of that daemon. A
 * pid file a dead daemon left names an orphan, whose parent is not the daemon. Every
 * other case (a stopped or errored process, no daemon) asks the daemon (converge.ts).
 */
export function looksSupervised(ctx: Pick<Context, 'env' | 'paths'>, config: AutoupdateConfig): boolean {
  const home = pm2Home(ctx);
  const daemon = daemonPid(home);
  if (daemon === undefined || !running(daemon)) return false;
  const { api, validator } = expectedNames(config);
  return [api, validator].every((name) => name === undefined || pm2PidFilePids(home, name).some((pid) => parentOf(pid) === daemon && running(pid)));
}

/** Outcomes whose run started the services and saw them healthy before it ended. */
const STARTED = ['updated', 'restored', 'rolled-back'];

/**
 * Only a namespace the last run saw running (or whose restore is being retried) is
 * PM2's to lose: one never started, or stopped whole by the operator, is left alone.
 * A run that started the services saw them healthy even when its record, a moment
 * later, found no pid file: a `pm2 kill` landing between its health check and its
 * record would otherwise leave every later run `up-to-date` with the namespace down.
 */
export function wasUp(state: Pick<UpdateState, 'metrics'>): boolean {
  if (Object.values(state.metrics?.pm2Up ?? {}).some((up) => up === 1)) return true;
  return STARTED.includes(lastOutcome(state.metrics) ?? '');
}

/**
 * §5.5, before the run looks for a release: a namespace PM2 lost (daemon gone, a
 * process missing or errored) is restored at the deployed commit; orphans of a dead
 * daemon are ended. Not in a dry run, not while a journal says an update is to be
 * recovered (that comes first and starts the services itself), and not before the
 * state knows a deployed commit and the last run saw a process of the namespace run.
 */
export async function convergeFirst(run: LiveRun, flags: { dryRun: boolean; force: boolean }): Promise<Converged | undefined> {
  const { ctx, config, state } = run;
  if (flags.dryRun || state.journal !== undefined || !state.metrics?.deployed) return undefined;
  if (!wasUp(state) && !state.restore) return undefined;
  if (!state.restore && looksSupervised(ctx, config)) return undefined;
  const { converge } = await import('./converge.js');
  return converge(run, flags);
}

/** A run that leaves the namespace down never ends `up-to-date` (or skipped, deferred): it fails, reason `restore`. */
export function keepDown(decision: RestartDecision, converged: Converged | undefined): RestartDecision {
  if (!converged?.down || !['up-to-date', 'skipped', 'deferred'].includes(decision.outcome)) return decision;
  return { outcome: 'failed', reason: 'restore', detail: `the namespace is down (${converged.down})` };
}

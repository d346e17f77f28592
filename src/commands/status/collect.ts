import { isAlive } from '../../adapters/lock.js';
import type { Context } from '../../core/context.js';
import { readHistory, readState, type UpdateState } from '../../core/state.js';
import { adviseOn } from './advice.js';
import type { ConfigView } from './config-view.js';
import { rootView } from './root-view.js';
import { withPortHolder } from './api-port.js';
import { checkSandboxSudo } from '../../domain/sandbox-sudo.js';
import { userName } from '../../scheduler/spec.js';
import { BUDGET_MS, probeApiView, probePm2, probeRepo, probeRoundLock, within } from './probes.js';
import type { DeferralView, Pm2View, StatusReport } from './report.js';
import { probeWeights } from './weights-view.js';

function readStateSafely(file: string, now: Date): UpdateState {
  try {
    return readState(file, now);
  } catch {
    // readState keeps a copy of a corrupt file; if even that fails, show no state.
    return { quarantine: [] };
  }
}

function lastChange(file: string): StatusReport['lastChange'] {
  const last = readHistory(file, 1).at(-1);
  if (!last || typeof last.at !== 'string' || typeof last.outcome !== 'string') return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const out: NonNullable<StatusReport['lastChange']> = { at: last.at, outcome: last.outcome };
  for (const key of ['reason', 'from', 'to'] as const) {
    const value = text(last[key]);
    if (value) out[key] = value;
  }
  if (typeof last.downtimeMs === 'number') out.downtimeMs = last.downtimeMs;
  if (last.phasesMs && typeof last.phasesMs === 'object') out.phasesMs = last.phasesMs as Record<string, number>;
  return out;
}

/**
 * Gathers the report: the local files first, then every probe at once (git, PM2,
 * scheduler, API), each inside its budget, so that the whole answers in under 2 s even
 * when PM2 or the API never answers.
 */
export async function collectStatus(ctx: Context, view: ConfigView): Promise<StatusReport> {
  const ns = view.namespace;
  const asRoot = rootView(ctx, view);
  const now = ctx.now();
  const nowMs = now.getTime();
  const state = readStateSafely(ctx.paths.state(ns), ctx.now());

  const pm2Fallback = (why: string): Pm2View => ({ state: 'unknown', detail: why, bin: ctx.env.PM2_BIN || 'pm2', home: ctx.env.PM2_HOME ?? '', processes: [], startup: { saved: false } });
  // Started slowest-first: pm2 (a node process) and the API before git and the
  // scheduler, whose module is imported only now, while the others are being asked.
  const pm2 = within(BUDGET_MS.pm2 + 300, probePm2(ctx, ns), pm2Fallback); // the group kill settles it first
  const api = probeApiView(view.apiEndpoint);
  const repo = within(BUDGET_MS.git, probeRepo(ctx, view.repoDir, view.remote, view.branch), (why) => ({
    dir: view.repoDir,
    remote: view.remote,
    branch: view.branch,
    relation: 'unknown' as const,
    error: why,
  }));
  const scheduler = within(BUDGET_MS.scheduler, import('../../scheduler/index.js').then((m) => m.schedulerStatus(ctx, ns)), (why) => ({
    kind: 'unknown' as const,
    active: false,
    detail: `could not tell: ${why}`,
  }));

  // Needs HEAD and the target, so it follows the repo probe, in a budget of its own.
  const signatures = view.signatures
    ? repo.then((r) =>
        within(BUDGET_MS.git, import('./signatures-view.js').then((m) => m.probeSignatures(ctx, view.signatures!, r, BUDGET_MS.git)), (why) => ({
          policy: view.signatures!.policy,
          allowedSigners: view.signatures!.allowedSigners,
          error: `could not verify: ${why}`,
        })),
      )
    : undefined;

  // A preflight failure is most often the sandbox's sudo rule: ask sudo the update's question (no password, runs nothing).
  const sandboxSudo = state.lastRun?.reason === 'preflight' && view.repoDir && !asRoot
    ? within(BUDGET_MS.scheduler, (async () => checkSandboxSudo(ctx, view.repoDir!, (await userName(ctx)) ?? '<user>'))(), () => undefined)
    : undefined;
  // The validator's own log: PM2's path for it once PM2 answered, else pm2.config.js's.
  const weights = pm2.then((p) => probeWeights(ctx, view.repoDir, view.validatorProcessName, p.processes.find((x) => x.name === view.validatorProcessName)?.outLog));
  const wait = state.restartWait && state.lastRun?.reason === 'restart-budget' ? state.restartWait : undefined;

  const change = lastChange(ctx.paths.history(ns));
  let deferral: DeferralView | undefined;
  if (state.deferral?.since) {
    const forMs = Math.max(0, nowMs - Date.parse(state.deferral.since));
    deferral = { since: state.deferral.since, forMs, maxMs: view.maxDeferralMs, overdue: forMs > view.maxDeferralMs, notified: Boolean(state.deferral.notified) };
  }
  const partial: Omit<StatusReport, 'advice'> = {
    namespace: ns,
    now: now.toISOString(),
    config: { ...view.summary, processes: { ...(view.validatorProcessName ? { validator: view.validatorProcessName } : {}), validationApi: view.validationProcessName } },
    repo: view.pin ? { ...(await repo), pin: view.pin } : await repo,
    scheduler: await scheduler,
    ...(state.lastRun ? { lastRun: state.lastRun } : {}),
    ...(change ? { lastChange: change } : {}),
    ...(deferral ? { deferral } : {}),
    gates: { roundLock: probeRoundLock(view.roundLockfile, nowMs, view.roundLockMaxAgeMs), api: withPortHolder(await api, view, await pm2) },
    pm2: await pm2,
    quarantine: state.quarantine,
    ...(state.journal ? { journal: { ...state.journal, running: isAlive(state.journal.pid) } } : {}),
    ...(state.configError ? { configError: state.configError } : {}),
    ...(signatures ? { signatures: await signatures } : {}),
    ...(asRoot ? { asRoot } : {}),
    weights: await weights,
    restartPolicy: view.restartPolicy ?? 'prompt',
    ...(wait ? { restartWait: { sha: wait.sha, since: wait.since, until: wait.until, detail: wait.detail } } : {}),
  };
  const sudo = await sandboxSudo;
  if (sudo) partial.sandboxSudo = sudo;
  return { ...partial, advice: adviseOn(partial) };
}

import fs from 'node:fs';
import path from 'node:path';
import { userNameOf } from '../../adapters/file-owner.js';
import { openGit, type Git } from '../../adapters/git.js';
import { isAlive } from '../../adapters/lock.js';
import { openPm2, parseJlist, toProcesses, type JlistEntry, type Pm2Process } from '../../adapters/pm2.js';
import { pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import { daemonPid, pm2Home } from '../../adapters/pm2-home.js';
import { describeFailure, run } from '../../adapters/shell.js';
import type { Context } from '../../core/context.js';
import { escapeControl } from '../../core/errors.js';
import { userName } from '../../scheduler/spec.js';
import { inspectRoundLock, probeApi } from '../../domain/gates.js';
import type { ApiView, CommitView, Pm2StartupView, Pm2View, RepoView, RoundLockView } from './report.js';
import { pm2Logs } from '../../domain/pm2-logs.js';

/**
 * The probes of `status`. Each answers within its budget and never throws: a probe
 * that fails or runs out of time reports `unknown` with the reason, so that one broken
 * part (a hung PM2, a dead API) never hides the others.
 */
export const BUDGET_MS = { api: 1000, pm2: 1500, git: 1500, scheduler: 1500 } as const;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Resolves with `fallback(why)` when `work` fails or has not settled within `ms`. */
export async function within<T>(ms: number, work: Promise<T>, fallback: (why: string, late: boolean) => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback(`no answer within ${(ms / 1000).toFixed(1)} s`, true)), ms);
  });
  try {
    return await Promise.race([work.catch((error: unknown) => fallback(message(error), false)), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function commit(git: Git, rev: string): Promise<CommitView> {
  const [sha] = await git.revParse([rev]);
  const info = await git.describe(sha!);
  // A commit subject comes from the remote: its control bytes must not reach the terminal.
  return { sha: sha!, short: sha!.slice(0, 7), subject: escapeControl(info.subject), time: new Date(info.time * 1000).toISOString() };
}

/** HEAD and the remote-tracking ref as the last fetch left it; never fetches. */
export async function probeRepo(ctx: Context, dir: string | undefined, remote: string, branch: string): Promise<RepoView> {
  const base: RepoView = { dir, remote, branch, relation: 'unknown' };
  if (!dir) return { ...base, error: 'REPO_DIR is not known: no usable auto-update config' };
  if (!fs.existsSync(path.join(dir, '.git'))) return { ...base, error: `${dir} is not a git clone` };
  const owner = ctx.uid === 0 ? fs.statSync(dir).uid : 0;
  if (owner !== 0) {
    // git refuses another user's clone to root ("dubious ownership"), rightly: that user's
    // .git/config could run programs as root. status does not override it.
    return { ...base, notReadAsRoot: true, error: `not read as root: the clone belongs to ${userNameOf(owner) ?? 'the user'} (uid ${owner}), and git run as root refuses another user's repository (safe.directory)` };
  }
  const git = openGit(dir, ctx.env, BUDGET_MS.git);
  const fetchHead = path.join(dir, '.git', 'FETCH_HEAD');
  const fetchedAt = fs.existsSync(fetchHead) ? fs.statSync(fetchHead).mtime.toISOString() : undefined;
  const [head, target] = await Promise.all([
    commit(git, 'HEAD').catch((error: unknown) => message(error)),
    commit(git, `refs/remotes/${remote}/${branch}`).catch(() => `no remote-tracking ref ${remote}/${branch} (never fetched?)`),
  ]);
  const view: RepoView = { ...base, ...(fetchedAt ? { fetchedAt } : {}) };
  if (typeof head === 'string') view.error = head;
  else view.head = head;
  if (typeof target === 'string') view.error = view.error ?? target;
  else view.target = target;
  if (view.head && view.target) view.relation = view.head.sha === view.target.sha ? 'up-to-date' : 'update-available';
  return view;
}

export function probeRoundLock(file: string, nowMs: number, maxAgeMs: number): RoundLockView {
  try {
    const lock = inspectRoundLock(file, nowMs, maxAgeMs);
    return lock.kind === 'absent' ? { file, state: 'absent' } : { file, state: lock.kind, detail: lock.detail };
  } catch (error) {
    return { file, state: 'unknown', detail: message(error) };
  }
}

export async function probeApiView(endpoint: string): Promise<ApiView> {
  // The outer deadline only catches a probe that is itself late (e.g. a slow module load
  // on a loaded machine): it says what the probe's own timeout says, so the answer does
  // not depend on which of the two fires first.
  const late = (why: string, timedOut: boolean) => ({ kind: 'unreachable' as const, detail: timedOut ? `no answer within ${BUDGET_MS.api} ms` : why });
  const api = await within(BUDGET_MS.api + 200, probeApi(endpoint, BUDGET_MS.api), late);
  if (api.kind === 'busy') return { endpoint, state: 'busy', jobs: api.jobs };
  if (api.kind === 'idle') return { endpoint, state: 'idle' };
  return { endpoint, state: api.kind, detail: api.detail };
}

/** Where `pm2 startup` puts the boot unit (systemd, else SysV-style init scripts). */
export function pm2StartupUnits(user: string): string[] {
  return [
    `/etc/systemd/system/pm2-${user}.service`,
    `/usr/lib/systemd/system/pm2-${user}.service`,
    `/lib/systemd/system/pm2-${user}.service`,
    `/etc/init.d/pm2-${user}`,
  ];
}

async function probeStartup(ctx: Context, home: string): Promise<Pm2StartupView> {
  const saved = fs.existsSync(path.join(home, 'dump.pm2'));
  const user = await within(BUDGET_MS.pm2, userName(ctx), () => undefined);
  if (!user) return { saved };
  const unit = pm2StartupUnits(user).find((f) => fs.existsSync(f));
  return { user, configured: unit !== undefined, ...(unit ? { unit } : {}), saved };
}

/**
 * The namespace's PM2 processes. A daemon that is not running is not started: status
 * changes nothing (`pm2 jlist` would spawn one). Asked over the daemon's socket with the
 * operator's pm2 package (milliseconds, where a `pm2 jlist` takes seconds on a loaded
 * machine), else through `pm2 jlist` in its own process group, killed whole at the
 * deadline, so a hung pm2 cannot hold the command open.
 */
export async function probePm2(ctx: Context, namespace: string): Promise<Pm2View> {
  const home = pm2Home(ctx);
  const bin = openPm2(ctx).bin;
  const pid = daemonPid(home);
  if (pid === undefined || !isAlive(pid)) {
    return { state: 'not-running', detail: `no PM2 daemon is running for PM2_HOME ${home}`, bin, home, processes: [], startup: await probeStartup(ctx, home) };
  }
  const [listed, startup] = await Promise.all([listWithin(ctx, bin, BUDGET_MS.pm2), probeStartup(ctx, home)]);
  const base = { bin, home, processes: [], startup };
  if ('detail' in listed) return { state: 'unknown', detail: listed.detail, ...base };
  try {
    const nowMs = ctx.now().getTime();
    const all = listed.list();
    const mine = all.filter((p) => p.namespace === namespace);
    const processes = mine
      .map((p) => ({
        name: p.name,
        pmId: p.pmId,
        status: p.status,
        pid: p.pid,
        restarts: p.restarts,
        ...(p.status === 'online' && p.uptimeSince ? { uptimeMs: Math.max(0, nowMs - p.uptimeSince) } : {}),
        ...(p.outLog ? { outLog: p.outLog } : {}),
      }));
    return { state: 'ok', ...base, processes, logs: pm2Logs(mine, all) };
  } catch (error) {
    return { state: 'unknown', detail: message(error), ...base };
  }
}

/** The daemon's process list within `budgetMs`: over its socket, else `pm2 jlist` in what is left of the budget. */
async function listWithin(ctx: Context, bin: string, budgetMs: number): Promise<{ list: () => Pm2Process[] } | { detail: string }> {
  const start = ctx.now().getTime();
  const silent = `the PM2 daemon did not answer within ${(budgetMs / 1000).toFixed(1)} s`;
  const link = pm2DaemonLink(ctx, bin, { connectMs: budgetMs });
  try {
    const asked = async () => {
      const d = await link.get();
      return d ? await d.call<JlistEntry[]>('getMonitorData', {}, budgetMs) : undefined;
    };
    const viaSocket = await within<JlistEntry[] | string | undefined>(budgetMs, asked(), () => silent);
    if (Array.isArray(viaSocket)) return { list: () => toProcesses(viaSocket) };
    if (viaSocket === silent || /did not answer/.test(link.why() ?? '')) return { detail: silent };
  } finally {
    link.close();
  }
  const left = Math.max(200, budgetMs - (ctx.now().getTime() - start));
  const result = await run(bin, ['jlist'], { env: ctx.env, timeoutMs: left, cwd: ctx.cwd });
  if (result.ok) return { list: () => parseJlist(result.stdout) };
  return {
    detail: result.timedOut ? `${bin} jlist did not answer within ${(budgetMs / 1000).toFixed(1)} s` : result.notFound ? `${bin} not found (install PM2 or set PM2_BIN)` : describeFailure(result),
  };
}

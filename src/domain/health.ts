import fs from 'node:fs';
import type { HttpResult } from '../adapters/http.js';
import type { Pm2, Pm2Process } from '../adapters/pm2.js';
import { describeHolder, portHolder, type PortHolder } from '../adapters/proc-net.js';
import { formatDuration } from '../core/duration.js';

/**
 * Health, ours, stable and answering (DESIGN.md §5.6): the one judgement that launch's
 * health wait, the update's swap and rollback, status and the convergence stage use.
 *
 * A service is healthy when, for `stableMs`, its PM2 process is `online` with a restart
 * count that does not grow; for the Validation API also when the socket listening on
 * its port belongs to that PM2 process or a descendant, and `/health` answers 200. A
 * port held by anyone else is never taken for ours: a local user (or an orphan of a
 * dead PM2 daemon) that grabs it while the API restarts would otherwise get the
 * validator's traffic.
 */
export interface ServiceSpec {
  /** The PM2 process name (in the watch's namespace). */
  name: string;
  /** Set for the Validation API: where it must listen and answer. */
  api?: { endpoint: string; port: number };
}

/**
 * Why a service is not healthy, typed so that callers decide without reading text:
 * - `crashed`, `not-online`, `missing`, `api-not-answering`: the release's own failure;
 * - `vanished`: a process seen running (or that the caller started and saw) is gone from
 *   PM2: deleted under the run (pm2 kill, pm2 delete), not something a release can do;
 * - `process-stopped`: the API does not answer because its process is stopped by a
 *   signal (SIGSTOP, state T): someone else's doing, not the release's;
 * - `api-port-taken`: another process holds the API port (`holder` says who);
 * - `pm2-silent`: the PM2 daemon did not answer (a machine fault, not the release's);
 * - `interrupted`: a signal asked the run to stop waiting.
 */
export type HealthFault = 'crashed' | 'not-online' | 'missing' | 'vanished' | 'api-not-answering' | 'process-stopped' | 'api-port-taken' | 'pm2-silent' | 'interrupted';

export type HealthResult =
  | { ok: true; detail: string; /** When each service was first seen online (ms epoch). */ onlineAt: Record<string, number> }
  | { ok: false; fault: HealthFault; service: string; detail: string; holder?: Extract<PortHolder, { kind: 'other' }> };

export interface HealthWatch {
  pm2: Pick<Pm2, 'list' | 'pollMs'>;
  namespace: string;
  now: () => number;
  /** How long each service must stay healthy (HEALTH_STABLE); 0: healthy once, e.g. "the API is up". */
  stableMs: number;
  /** How long a service may take to become healthy, on top of stableMs (HEALTH_TIMEOUT). */
  timeoutMs: number;
  /** Restart counts that do not count as crashes (a process left running by launch); default 0 (a fresh start). */
  baselineRestarts?: Record<string, number>;
  /** A signal received: the wait ends at once with fault `interrupted`. */
  interrupted?: () => string | undefined;
  /**
   * Services the caller started and saw online before this wait: one missing from PM2
   * is `vanished` (deleted under the run), not `missing` (never there: e.g. a release
   * that renamed its process).
   */
  started?: readonly string[];
  /**
   * PM2 entries of the namespace (any state) listed before the wait's start command: when
   * PM2 lists none of them any more and a service is missing, the namespace was deleted
   * under the run (pm2 kill removes every entry, a stopped one too): `vanished`.
   */
  present?: readonly string[];
  /** Seams for unit tests of the judgement; the real /proc and HTTP otherwise. */
  holder?: (port: number, ownerPid: number) => PortHolder;
  /** Whether a process is stopped by a signal (state T in /proc/<pid>/stat). */
  stopped?: (pid: number) => boolean;
  probe?: (url: string, timeoutMs: number) => Promise<HttpResult>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PROBE_MS = 2000;

async function httpProbe(url: string, timeoutMs: number): Promise<HttpResult> {
  // Imported here: node's http costs the timer's no-op run, which never asks the API.
  const { request } = await import('../adapters/http.js');
  return request(url, { timeoutMs });
}

/** The port the Validation API listens on: VALIDATION_HTTP_PORT, else the endpoint's local port, else the repo script's 8888. */
export function apiPort(httpPort: string | undefined, endpoint: string): number {
  if (httpPort) return Number(httpPort);
  try {
    const url = new URL(endpoint);
    if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]', '0.0.0.0'].includes(url.hostname)) return Number(url.port || '80');
  } catch {
    // an endpoint that is not a URL is refused by the config; the script's default applies
  }
  return 8888;
}

/** One look at a service: what is wrong now, or undefined when it is healthy at this instant. */
type Look = { fault: HealthFault; detail: string; holder?: Extract<PortHolder, { kind: 'other' }>; fatal: boolean } | undefined;

/**
 * Judges one service once (status, and each poll of a wait). `fatal` faults end a wait at
 * once (a crash, a stranger on the port); the others may still clear up.
 */
export async function lookAt(w: Pick<HealthWatch, 'namespace' | 'baselineRestarts' | 'holder' | 'probe' | 'stopped'>, spec: ServiceSpec, proc: Pm2Process | undefined, seen = false): Promise<Look> {
  const base = w.baselineRestarts?.[spec.name] ?? 0;
  if (!proc && seen) return { fault: 'vanished', detail: `PM2 no longer has ${spec.name} in namespace ${w.namespace}, which ran before: deleted under the run (pm2 kill, pm2 delete, a daemon restart)`, fatal: true };
  if (!proc) return { fault: 'missing', detail: `PM2 has no process ${spec.name} in namespace ${w.namespace}`, fatal: true };
  const taken = (holder: PortHolder, port: number): Look =>
    holder.kind !== 'other'
      ? undefined
      : { fault: 'api-port-taken', detail: `port ${port} is held by ${describeHolder(holder)}, not by ${spec.name} (pid ${proc.pid}) or its children: that process is not our Validation API`, holder, fatal: true };
  const crashed = (detail: string): Look =>
    // An API that cannot bind because another process holds its port crashes: that
    // process is the finding (the machine's fault), not the release.
    (spec.api && proc.status !== 'stopped' ? taken((w.holder ?? portHolder)(spec.api.port, proc.pid), spec.api.port) : undefined) ?? { fault: 'crashed', detail, fatal: true };
  if (proc.status === 'errored' || proc.status === 'stopped') return crashed(`${spec.name} is ${proc.status} (restarts: ${proc.restarts}); see pm2 logs ${spec.name}`);
  if (proc.restarts > base) return crashed(`${spec.name} restarted ${proc.restarts - base} time(s) (crash loop); see pm2 logs ${spec.name}`);
  if (proc.status !== 'online') return { fault: 'not-online', detail: `${spec.name} is ${proc.status}`, fatal: false };
  if (!spec.api) return undefined;
  const { port, endpoint } = spec.api;
  const holder = (w.holder ?? portHolder)(port, proc.pid);
  const stranger = taken(holder, port);
  if (stranger) return stranger;
  if (holder.kind === 'free') return { fault: 'api-not-answering', detail: `${spec.name} (pid ${proc.pid}) does not listen on port ${port} yet`, fatal: false };
  const answer = await answers(endpoint, w.probe ?? httpProbe);
  if (answer && (w.stopped ?? stoppedBySignal)(proc.pid)) {
    return { fault: 'process-stopped', detail: `${spec.name} (pid ${proc.pid}) is stopped by a signal (SIGSTOP; state T), so ${answer}`, fatal: false };
  }
  return answer ? { fault: 'api-not-answering', detail: answer, fatal: false } : undefined;
}

/** State T (stopped) or t (traced) in /proc/<pid>/stat; false when it cannot be read. */
function stoppedBySignal(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}

/** undefined when GET /health answers 200 (an older API without /health: /validate/active 2xx); else why not. */
async function answers(endpoint: string, probe: NonNullable<HealthWatch['probe']>): Promise<string | undefined> {
  const base = endpoint.replace(/\/+$/, '');
  const health = await probe(`${base}/health`, PROBE_MS);
  if (health.kind === 'response' && health.status === 200) return undefined;
  if (health.kind === 'response' && health.status === 404) {
    const active = await probe(`${base}/validate/active`, PROBE_MS);
    if (active.kind === 'response' && active.status >= 200 && active.status < 300) return undefined;
  }
  return `${base}/health ${health.kind === 'response' ? `answered ${health.status}` : `did not answer (${health.message})`}`;
}

/**
 * Waits until every service is healthy for `stableMs` (each on its own clock, started
 * when it is first seen healthy), or a fault ends the wait: a crash or a stranger on
 * the API port at once, anything else at the deadline (timeoutMs + stableMs). A PM2
 * daemon that does not answer is asked again until the deadline (a loaded machine),
 * and named as the fault if it never answers.
 */
export async function waitHealthy(w0: HealthWatch, services: readonly ServiceSpec[]): Promise<HealthResult> {
  const w = { ...w0, holder: recheckedHolder(w0) };
  const { now } = w;
  const deadline = now() + w.timeoutMs + w.stableMs;
  const healthySince = new Map<string, number>();
  const onlineAt: Record<string, number> = {};
  let last: { service: string; look: NonNullable<Look> } | undefined;
  let pm2Silent: string | undefined;
  for (;;) {
    const signal = w.interrupted?.();
    if (signal) return { ok: false, fault: 'interrupted', service: services[0]?.name ?? '', detail: `interrupted by ${signal} while waiting for ${names(services)} to be healthy` };
    let list: Pm2Process[] | undefined;
    try {
      list = await w.pm2.list(w.namespace);
      pm2Silent = undefined;
    } catch (error) {
      pm2Silent = (error as Error).message;
    }
    if (list) {
      let allStable = true;
      for (const spec of services) {
        const proc = list.find((p) => p.name === spec.name);
        if (proc?.status === 'online') onlineAt[spec.name] ??= now();
        const wiped = Boolean(w.present?.length) && w.present!.every((name) => !list!.some((p) => p.name === name));
        let look = await lookAt(w, spec, proc, onlineAt[spec.name] !== undefined || Boolean(w.started?.includes(spec.name)) || wiped);
        if (look?.fault === 'api-port-taken' && proc) look = await lookAgain(w, spec, proc, look);
        if (look?.fatal) return { ok: false, fault: look.fault, service: spec.name, detail: look.detail, ...(look.holder ? { holder: look.holder } : {}) };
        if (look) {
          healthySince.delete(spec.name);
          last = { service: spec.name, look };
          allStable = false;
          continue;
        }
        const since = healthySince.get(spec.name) ?? now();
        healthySince.set(spec.name, since);
        if (now() - since < w.stableMs) allStable = false;
      }
      if (allStable) {
        const stable = w.stableMs > 0 ? `, no restart for ${formatDuration(w.stableMs)}` : '';
        return { ok: true, detail: services.map((s) => `${s.name} online${s.api ? ', owns its port, answers /health' : ''}`).join('; ') + stable, onlineAt };
      }
    }
    if (now() >= deadline) break;
    // A service not healthy yet can no longer be healthy for stableMs before the deadline.
    if (list && services.some((s) => !healthySince.has(s.name)) && now() > deadline - w.stableMs) break;
    await sleep(Math.min(await w.pm2.pollMs(), Math.max(0, deadline - now())));
  }
  if (pm2Silent) return { ok: false, fault: 'pm2-silent', service: services[0]?.name ?? '', detail: `PM2 did not answer: ${pm2Silent}` };
  const within = `within ${formatDuration(w.timeoutMs)}`;
  if (!last) return { ok: false, fault: 'not-online', service: services[0]?.name ?? '', detail: `${names(services)} not stable ${within}` };
  return { ok: false, fault: last.look.fault, service: last.service, detail: `${last.service} not healthy ${within} (last: ${last.look.detail})` };
}

/**
 * PM2 may restart the API between its list and the look at the port: the holder is then
 * PM2's new process, not a stranger. PM2 is asked once more; when the process has a new
 * pid, the judgement is made on that one (a restart: `crashed`, the release's failure).
 */
async function lookAgain(w: HealthWatch, spec: ServiceSpec, proc: Pm2Process, look: NonNullable<Look>): Promise<Look> {
  const again = await w.pm2.list(w.namespace).catch(() => undefined);
  const fresh = again?.find((p) => p.name === spec.name);
  return fresh && fresh.pid !== proc.pid ? lookAt(w, spec, fresh) : look;
}

/**
 * Reading /proc/net/tcp costs the kernel a walk of its socket tables (10-20 ms on a
 * loaded host): once a port is known to be ours, it is looked at again only every
 * PORT_RECHECK_MS, not at every poll. Anything but `ours` is looked at every time.
 */
const PORT_RECHECK_MS = 1000;

function recheckedHolder(w: HealthWatch): (port: number, ownerPid: number) => PortHolder {
  const look = w.holder ?? portHolder;
  let known: { port: number; ownerPid: number; at: number; holder: PortHolder } | undefined;
  return (port, ownerPid) => {
    if (known && known.port === port && known.ownerPid === ownerPid && w.now() - known.at < PORT_RECHECK_MS) return known.holder;
    const holder = look(port, ownerPid);
    known = holder.kind === 'ours' ? { port, ownerPid, at: w.now(), holder } : undefined;
    return holder;
  };
}

const names = (services: readonly ServiceSpec[]) => services.map((s) => s.name).join(' and ');

/**
 * Waits until PM2 shows one process online with no restart for `stableMs` (launch's
 * validator, the update's health phase when no API runs).
 */
export async function waitForStableProcess(
  pm2: Pick<Pm2, 'list' | 'pollMs'>,
  namespace: string,
  name: string,
  options: { stableMs: number; timeoutMs: number; now: () => number; baselineRestarts?: number; interrupted?: () => string | undefined },
): Promise<{ ok: true; detail: string; onlineAt?: number } | Extract<HealthResult, { ok: false }>> {
  const result = await waitHealthy(
    { pm2, namespace, now: options.now, stableMs: options.stableMs, timeoutMs: options.timeoutMs, baselineRestarts: { [name]: options.baselineRestarts ?? 0 }, interrupted: options.interrupted },
    [{ name }],
  );
  return result.ok ? { ...result, onlineAt: result.onlineAt[name] } : result;
}

import type { Pm2 } from '../adapters/pm2.js';
import { formatDuration } from '../core/duration.js';
import { probeApi } from './gates.js';

/** The Validation API is asked over loopback HTTP: cheap enough to ask often. */
const API_POLL_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type Health = { ok: true; detail: string } | { ok: false; detail: string };

/** Waits until GET /validate/active gives a 2xx JSON answer (any of idle/busy/unknown). */
export async function waitForApi(endpoint: string, timeoutMs: number, now: () => number): Promise<Health> {
  const deadline = now() + timeoutMs;
  let last = 'no answer yet';
  while (now() < deadline) {
    const state = await probeApi(endpoint, Math.min(2000, Math.max(200, deadline - now())));
    if (state.kind !== 'unreachable') return { ok: true, detail: `answers (${state.kind})` };
    last = state.detail;
    await sleep(API_POLL_MS);
  }
  return { ok: false, detail: `${endpoint}/validate/active did not answer within ${formatDuration(timeoutMs)} (last: ${last})` };
}

/**
 * Waits until PM2 shows the process online with no restart for `stableMs`, within
 * `timeoutMs` of the start. A restart or an errored/stopped status fails at once:
 * a crash-looping validator is not healthy however long we wait.
 */
export async function waitForStableProcess(
  pm2: Pm2,
  namespace: string,
  name: string,
  options: { stableMs: number; timeoutMs: number; now: () => number; baselineRestarts?: number },
): Promise<Health & { onlineAt?: number }> {
  const { now } = options;
  const deadline = now() + options.timeoutMs + options.stableMs;
  let onlineSince: number | undefined;
  // The cycle starts processes fresh (delete + start), so any restart counts.
  const baseRestarts = options.baselineRestarts ?? 0;
  let firstOnline: number | undefined;
  let pm2Silent: string | undefined;
  while (now() < deadline) {
    let list: Awaited<ReturnType<Pm2['list']>>;
    try {
      list = await pm2.list(namespace);
      pm2Silent = undefined;
    } catch (error) {
      // A slow daemon (a loaded machine) is not an unhealthy validator: ask again until the deadline.
      pm2Silent = (error as Error).message;
      await sleep(await pm2.pollMs());
      continue;
    }
    const proc = list.find((p) => p.name === name);
    if (!proc) return { ok: false, detail: `PM2 has no process ${name} in namespace ${namespace}` };
    if (proc.status === 'errored' || proc.status === 'stopped') {
      return { ok: false, detail: `${name} is ${proc.status} (restarts: ${proc.restarts}); see pm2 logs ${name}` };
    }
    if (proc.restarts > baseRestarts) {
      return { ok: false, detail: `${name} restarted ${proc.restarts - baseRestarts} time(s) while starting (crash loop); see pm2 logs ${name}` };
    }
    if (proc.status === 'online') {
      onlineSince ??= now();
      firstOnline ??= onlineSince;
      if (now() - onlineSince >= options.stableMs) return { ok: true, detail: `${name} online, no restart for ${formatDuration(options.stableMs)}`, onlineAt: firstOnline };
    } else {
      onlineSince = undefined;
      if (firstOnline === undefined && now() > deadline - options.stableMs) break;
    }
    await sleep(await pm2.pollMs());
  }
  const why = pm2Silent ? ` (PM2 did not answer: ${pm2Silent})` : '';
  return { ok: false, detail: `${name} was not online and stable within ${formatDuration(options.timeoutMs)}${why}` };
}

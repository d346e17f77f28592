/**
 * The validator's weights warm-up (DESIGN.md §14), read from its own PM2 out log.
 *
 * neurons/validator.py counts completed tasks in memory (0 at every start) and sets
 * weights only once the count reaches WEIGHTS_MIN_TASKS_BEFORE_EMIT. It logs:
 *   [WEIGHTS] Emitter started (offset=O, min_tasks=M, poll=P.Ps)          once per start
 *   [WEIGHTS] Epoch check: epoch=E block_in_epoch=B offset=O tasks=K/M     once per epoch
 *   ✅ [WEIGHTS] Emitted weights on chain (epoch=E, block_in_epoch=B)      on success
 * PM2 prefixes each line with its log_date_format (`YYYY-MM-DD HH:mm:ss Z: ` in the
 * repo's pm2.config.js), which gives the times. Pure: text in, facts out.
 */

export const WEIGHTS_LINES = {
  started: /\[WEIGHTS\] Emitter started \(offset=(-?\d+), min_tasks=(\d+), poll=([\d.]+) ?s\)/,
  epochCheck: /\[WEIGHTS\] Epoch check: epoch=(\d+) block_in_epoch=(\d+) offset=(-?\d+) tasks=(\d+)\/(\d+)/,
  emitted: /\[WEIGHTS\] Emitted weights on chain \(epoch=(\d+), block_in_epoch=(\d+)\)/,
} as const;

/** PM2's date prefix: `2026-12-07 02:44:36 +00:00: ` (log_date_format 'YYYY-MM-DD HH:mm:ss Z'), or an ISO time. */
const DATE_PREFIX = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?) ?(Z|[+-]\d{2}:?\d{2})?: /;

/** What the log's tail says since the validator's current start. */
export interface WarmupLog {
  /**
   * The last `Emitter started` line. Absent when the tail holds none: the start lies
   * before the part read (a validator running for long), or it has not started yet.
   */
  start?: { atMs?: number; minTasks: number };
  /** The last `Epoch check` after that start: tasks done K of M at that epoch's start. */
  check?: { epoch: number; tasksDone: number; tasksNeeded: number; atMs?: number };
  /** The last `Emitted weights` line after that start. */
  emitSinceStart?: { epoch: number; atMs?: number };
  /** The last `Emitted weights` line anywhere in the tail (maybe before the start). */
  lastEmit?: { epoch: number; atMs?: number };
  /** Whether any line carried a PM2 date prefix. */
  dated: boolean;
}

/** The time of PM2's date prefix, when the line has one with a zone. */
export function lineTimeMs(line: string): number | undefined {
  const m = DATE_PREFIX.exec(line);
  if (!m || !m[3]) return undefined;
  const zone = m[3] === 'Z' ? 'Z' : m[3].includes(':') ? m[3] : `${m[3].slice(0, 3)}:${m[3].slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  return Number.isFinite(ms) ? ms : undefined;
}

export function parseWarmupLog(text: string): WarmupLog {
  const out: WarmupLog = { dated: false };
  for (const line of text.split('\n')) {
    if (!line.includes('[WEIGHTS]')) continue;
    const atMs = lineTimeMs(line);
    if (atMs !== undefined) out.dated = true;
    const at = atMs !== undefined ? { atMs } : {};
    let m = WEIGHTS_LINES.emitted.exec(line);
    if (m) {
      out.lastEmit = { epoch: Number(m[1]), ...at };
      out.emitSinceStart = out.lastEmit;
      continue;
    }
    m = WEIGHTS_LINES.epochCheck.exec(line);
    if (m) {
      out.check = { epoch: Number(m[1]), tasksDone: Number(m[4]), tasksNeeded: Number(m[5]), ...at };
      continue;
    }
    m = WEIGHTS_LINES.started.exec(line);
    if (m) {
      // A new start: the in-memory count is 0 again.
      out.start = { minTasks: Number(m[2]), ...at };
      delete out.check;
      delete out.emitSinceStart;
    }
  }
  return out;
}

/** The Weights line of `status`, `status --json`'s `weights`, and the gate's input. */
export interface WeightsView {
  state: 'emitting' | 'warming-up' | 'unknown';
  tasksDone?: number;
  tasksNeeded?: number;
  lastEmitEpoch?: number;
  /** ISO time of the last emission, when the log dates it. */
  lastEmitAt?: string;
  /** ISO time of the validator's current start, when known (the log, else PM2's pid file). */
  startedAt?: string;
  /** The log read. */
  log?: string;
  /** Why the state is unknown, or what is uncertain. */
  why?: string;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * Judges the parsed log. `processStartMs` (PM2's pid file of the validator) stands in
 * for the start line when the tail does not reach back to it.
 */
export function judgeWarmup(parsed: WarmupLog | undefined, input: { log: string; problem?: string; processStartMs?: number }): WeightsView {
  const base = { log: input.log };
  if (!parsed) return { ...base, state: 'unknown', why: input.problem ?? `cannot read ${input.log}` };
  const startMs = parsed.start?.atMs ?? input.processStartMs;
  const started = startMs !== undefined ? { startedAt: iso(startMs)! } : {};
  const last = parsed.lastEmit ? { lastEmitEpoch: parsed.lastEmit.epoch, ...(parsed.lastEmit.atMs !== undefined ? { lastEmitAt: iso(parsed.lastEmit.atMs)! } : {}) } : {};
  const needed = parsed.check?.tasksNeeded ?? parsed.start?.minTasks;
  const tasks = { ...(parsed.check ? { tasksDone: parsed.check.tasksDone } : parsed.start ? { tasksDone: 0 } : {}), ...(needed !== undefined ? { tasksNeeded: needed } : {}) };
  if (parsed.emitSinceStart) return { ...base, state: 'emitting', ...tasks, ...last, ...started };
  if (parsed.start || parsed.check) return { ...base, state: 'warming-up', ...tasks, ...last, ...started };
  return { ...base, state: 'unknown', ...last, why: `no [WEIGHTS] emitter line in the last part of ${input.log} (the validator has not started its weights emitter, or logs elsewhere)` };
}

/** `__version__` of subnet/__init__.py (the version_key of set_weights, through __spec_version__). */
export function subnetVersion(text: string): string | undefined {
  return /^__version__\s*=\s*["']([^"'\n]+)["']/m.exec(text)?.[1];
}

/** The file that holds it. */
export const SUBNET_VERSION_FILE = 'subnet/__init__.py';

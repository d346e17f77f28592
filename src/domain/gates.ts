import fs from 'node:fs';
import type { HttpResult } from '../adapters/http.js';
import { userNameOf } from '../adapters/file-owner.js';
import { isAlive } from '../adapters/lock.js';
import { formatDuration } from '../core/duration.js';

export type RoundLock =
  | { kind: 'absent' }
  | { kind: 'live'; detail: string }
  | { kind: 'stale'; detail: string };

/** A `ts` further ahead than this is not a clock's drift: the file is stale. */
const FUTURE_TS_MS = 5 * 60_000;

/** Seconds, milliseconds or an ISO string, as a validator might write `ts`. */
function tsToMs(ts: unknown): number | undefined {
  if (typeof ts === 'number' && Number.isFinite(ts)) return ts < 1e12 ? ts * 1000 : ts;
  if (typeof ts === 'string' && ts.trim() !== '') {
    const n = Number(ts);
    if (Number.isFinite(n)) return n < 1e12 ? n * 1000 : n;
    const parsed = Date.parse(ts);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/**
 * Judges the validator's round lockfile (pure: content, mtime and clock in). Stale when
 * its pid is dead, its ts or its mtime is older than maxAge, or its ts lies more than
 * 5 minutes ahead (DESIGN.md §5 step 7). Unreadable content counts as live, until the
 * file has been untouched for maxAge: a lock nobody rewrites must not wedge the updater
 * forever (the bash updater's defect), whatever `ts` its content claims.
 */
export function judgeRoundLock(
  content: string | undefined,
  mtimeMs: number,
  nowMs: number,
  maxAgeMs: number,
  alive: (pid: number) => boolean = isAlive,
): RoundLock {
  if (content === undefined) return { kind: 'absent' };
  let data: { round_id?: unknown; pid?: unknown; ts?: unknown; block?: unknown } | undefined;
  try {
    const parsed: unknown = JSON.parse(content);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as typeof data;
  } catch {
    data = undefined;
  }
  if (!data) {
    const age = nowMs - mtimeMs;
    if (age > maxAgeMs) return { kind: 'stale', detail: `unreadable content, untouched for ${formatDuration(age)}` };
    return { kind: 'live', detail: 'unreadable content (treated as live)' };
  }
  const round = data.round_id !== undefined ? `round ${String(data.round_id)}` : 'a round';
  const pid = typeof data.pid === 'number' ? data.pid : Number(data.pid);
  if (data.pid !== undefined && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
    return { kind: 'stale', detail: `${round}: pid ${pid} is not running` };
  }
  const untouched = nowMs - mtimeMs;
  if (untouched > maxAgeMs) return { kind: 'stale', detail: `${round}: the file is untouched for ${formatDuration(untouched)}, longer than ROUND_LOCK_MAX_AGE` };
  const tsMs = tsToMs(data.ts) ?? mtimeMs;
  if (tsMs - nowMs > FUTURE_TS_MS) return { kind: 'stale', detail: `${round}: its ts lies ${formatDuration(tsMs - nowMs)} in the future` };
  const age = nowMs - tsMs;
  if (age > maxAgeMs) return { kind: 'stale', detail: `${round}: started ${formatDuration(age)} ago, older than ROUND_LOCK_MAX_AGE` };
  return { kind: 'live', detail: `${round}${data.block !== undefined ? ` at block ${String(data.block)}` : ''}${data.pid !== undefined ? `, pid ${pid}` : ''}` };
}

/** The validator writes a few hundred bytes; anything bigger is not its lockfile. */
const MAX_ROUND_LOCK_BYTES = 64 * 1024;

/**
 * Reads the round lockfile without trusting what is at its path (the bash-era default
 * is in /tmp, where any local user can plant something): a file (or link) that another
 * user owns, neither the validator's user nor root, is ignored, naming its owner; a
 * symlink is never followed, a FIFO never blocks us (O_NONBLOCK, and only a regular
 * file is read), at most 64 KiB is read. Anything but a regular file counts as
 * unreadable content: live, until it has been untouched (lstat) for
 * ROUND_LOCK_MAX_AGE, then stale, so a planted directory or FIFO cannot defer every
 * update forever. `validatorUid` omitted: no owner check (a test of the content alone).
 */
export function inspectRoundLock(file: string, nowMs: number, maxAgeMs: number, validatorUid?: number): RoundLock {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'live', detail: `cannot read it (${(error as NodeJS.ErrnoException).code})` };
  }
  const foreign = foreignOwner(stat.uid, validatorUid);
  if (foreign) return { kind: 'stale', detail: foreign };
  if (!stat.isFile()) {
    const what = stat.isSymbolicLink() ? 'a symlink (not followed)' : stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : 'not a regular file';
    const judged = judgeRoundLock('', stat.mtimeMs, nowMs, maxAgeMs);
    return judged.kind === 'absent' ? judged : { ...judged, detail: `${file} is ${what}; ${judged.detail}` };
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const fstat = fs.fstatSync(fd);
    const swapped = foreignOwner(fstat.uid, validatorUid);
    if (swapped) return { kind: 'stale', detail: swapped };
    if (!fstat.isFile()) return judgeRoundLock('', fstat.mtimeMs, nowMs, maxAgeMs);
    const buffer = Buffer.alloc(Math.min(MAX_ROUND_LOCK_BYTES, fstat.size));
    const read = buffer.length > 0 ? fs.readSync(fd, buffer, 0, buffer.length, 0) : 0;
    return judgeRoundLock(buffer.subarray(0, read).toString('utf8'), fstat.mtimeMs, nowMs, maxAgeMs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent' };
    // Swapped for a link or special file between lstat and open: judge it by its age.
    return judgeRoundLock('', stat.mtimeMs, nowMs, maxAgeMs);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Why a round lock owned by `uid` is not the validator's, or undefined when it may be. */
function foreignOwner(uid: number, validatorUid: number | undefined): string | undefined {
  if (validatorUid === undefined || uid === validatorUid || uid === 0) return undefined;
  const name = userNameOf(uid);
  return `the file belongs to ${name ? `${name} (uid ${uid})` : `uid ${uid}`}, not to the validator's user (uid ${validatorUid}) nor root: another local user wrote it, and it cannot defer updates`;
}

export type ApiState =
  | { kind: 'idle' }
  | { kind: 'busy'; jobs: number }
  | { kind: 'unknown'; detail: string }
  | { kind: 'unreachable'; detail: string };

/** Classifies the answer of GET /validate/active (pure). */
export function classifyApiAnswer(result: HttpResult): ApiState {
  if (result.kind === 'error') return { kind: 'unreachable', detail: result.message };
  if (result.status < 200 || result.status > 299) return { kind: 'unreachable', detail: `HTTP ${result.status}` };
  let body: unknown;
  try {
    body = JSON.parse(result.body);
  } catch {
    return { kind: 'unknown', detail: 'the answer is not JSON' };
  }
  const active = body && typeof body === 'object' ? (body as { active?: unknown }).active : undefined;
  if (!Array.isArray(active)) return { kind: 'unknown', detail: 'the answer has no "active" list' };
  return active.length === 0 ? { kind: 'idle' } : { kind: 'busy', jobs: active.length };
}

export const API_TIMEOUT_MS = 2000;

export async function probeApi(endpoint: string, timeoutMs = API_TIMEOUT_MS): Promise<ApiState> {
  // Imported here: node's http and tls cost the timer's no-op run, which never asks the API.
  const { request } = await import('../adapters/http.js');
  return classifyApiAnswer(await request(`${endpoint}/validate/active`, { timeoutMs }));
}

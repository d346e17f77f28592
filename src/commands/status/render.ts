import { formatDuration } from '../../core/duration.js';
import { roughDuration } from './age.js';
import { configErrorLines } from '../../core/state.js';
import { rollbackFailed } from './advice.js';
import type { CommitSignatureView, CommitView, SignaturesView, StatusReport } from './report.js';
import { formatBytes, LOGS_HINT_BYTES } from '../../domain/pm2-logs.js';
import { weightsText } from './weights-view.js';

/** Colours for the screen; `plain` when stdout is not a TTY or NO_COLOR is set. */
export interface Paint {
  ok(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const same = (text: string) => text;
export const plain: Paint = { ok: same, warn: same, bad: same, dim: same, bold: same };

const LABEL = 13;
const GOOD_OUTCOMES = new Set(['up-to-date', 'updated']);
const BAD_OUTCOMES = new Set(['failed', 'rolled-back', 'refused', 'invalid-config']);
const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');
const isoSeconds = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');

/**
 * The status screen (pure: report in, text out). Labels in one column, values
 * aligned after them; continuation lines indented to the value column.
 */
export function renderStatus(r: StatusReport, paint: Paint = plain): string {
  const nowMs = Date.parse(r.now);
  const rel = (iso: string | undefined): string => {
    if (!iso) return '?';
    const ms = Date.parse(iso) - nowMs;
    if (!Number.isFinite(ms)) return iso;
    return ms > 0 ? `in ${roughDuration(ms)}` : `${roughDuration(-ms)} ago`;
  };
  const at = (iso: string) => `${isoSeconds(iso)} (${rel(iso)})`;
  const lines: string[] = [];
  const row = (label: string, value: string, ...more: string[]) => {
    lines.push(`${label.padEnd(LABEL)}${value}`);
    for (const m of more) lines.push(`${' '.repeat(LABEL)}${m}`);
  };
  const commit = (c: CommitView) => `${paint.bold(c.short)} ${c.subject} ${paint.dim(`(committed ${rel(c.time)})`)}`;

  lines.push(`${paint.bold(`alphacore status: namespace ${r.namespace}`)} ${paint.dim(`at ${isoSeconds(r.now)}`)}`, '');
  // As root the rest of the screen is root's view: that comes first, and once.
  const rootLine = r.asRoot ? r.advice[0] : undefined;
  const advice = rootLine ? r.advice.slice(1) : r.advice;
  if (rootLine) lines.push(`${paint.warn('WARN ')} ${rootLine.text}`, '');

  const configState = r.config.state === 'ok' ? '' : ` ${paint.bad(`(${r.config.state})`)}`;
  row('Config', `${r.config.file}${configState}`, ...r.config.problems.map((p) => paint.bad(p)), ...(r.config.warnings ?? []).map((w) => paint.warn(`warning: ${w}`)));
  if (r.configError) {
    row('Config error', paint.bad(`the last update run (${rel(r.configError.at)}) could not use ${r.configError.file}:`), ...configErrorLines(r.configError).map((p) => paint.bad(p)));
  }
  const repo = r.repo;
  row('Repo', repo.dir ?? paint.warn('unknown'));
  row('HEAD', repo.head ? commit(repo.head) : paint.warn(`unknown${repo.error ? ` (${repo.error})` : ''}`));
  const tracking = `${repo.remote}/${repo.branch}`;
  const fetched = `as of the last fetch${repo.fetchedAt ? `, ${rel(repo.fetchedAt)}` : ''}; status does not fetch`;
  const relation =
    repo.relation === 'up-to-date' ? paint.ok('same as HEAD') : repo.relation === 'update-available' ? paint.warn('differs from HEAD: update available') : paint.warn('unknown');
  const compared = repo.head || repo.target ? [`${relation} ${paint.dim(`(${fetched})`)}`] : [];
  row('Remote', repo.target ? `${tracking} ${commit(repo.target)}` : `${tracking} ${paint.warn('unknown')}`, ...compared);
  if (repo.pin) row('Pin', `${paint.warn(repo.pin.slice(0, 12))} ${paint.dim('(PIN in the config: updates go to this commit, not the branch)')}`);
  if (r.signatures) row('Signatures', ...signatureLines(r.signatures, paint));

  const s = r.scheduler;
  const every = s.interval ? `, every ${s.interval}` : '';
  const next = s.nextRun ? `, next run ${rel(s.nextRun)}` : '';
  if (s.kind === 'systemd') {
    row('Scheduler', `systemd timer ${s.unit ?? ''}, ${s.active ? paint.ok('active') : paint.bad('not active')}${every}${next}`);
  } else if (s.kind === 'cron') {
    const never = s.cronDaemon === 'not-running' ? `, ${paint.bad('NEVER RUNS: no cron daemon runs')}` : '';
    row('Scheduler', `crontab line${every}${next}${never}`, paint.dim(s.cronLine ?? ''));
  } else {
    row('Scheduler', `${paint.bad(s.kind)} ${paint.dim(`(${s.detail})`)}`);
  }
  // Linger only keeps a systemd user timer alive after logout.
  const linger = s.linger === true ? paint.ok('on') : s.linger === false ? (s.kind === 'systemd' ? paint.bad('off') : 'off') : paint.dim('unknown');
  row('Linger', s.kind === 'systemd' || s.kind === 'unknown' ? linger : `${linger} ${paint.dim('(matters only for a systemd timer)')}`);

  const last = r.lastRun;
  if (last) {
    const outcome = GOOD_OUTCOMES.has(last.outcome) ? paint.ok(last.outcome) : BAD_OUTCOMES.has(last.outcome) ? paint.bad(last.outcome) : paint.warn(last.outcome);
    const move = last.from && last.to && last.from !== last.to ? ` ${short(last.from)} -> ${short(last.to)}` : '';
    row('Last run', `${at(last.at)}: ${outcome}${last.reason ? ` (${last.reason})` : ''}${move}`);
  } else {
    row('Last run', paint.dim('never'));
  }
  const change = r.lastChange;
  row('Last change', change ? `${at(change.at)}: ${change.outcome}${change.reason ? ` (${change.reason})` : ''} ${short(change.from)} -> ${short(change.to)}` : paint.dim('none'));
  if (change?.downtimeMs !== undefined) {
    const phases = Object.entries(change.phasesMs ?? {}).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`).join(', ');
    row('Downtime', `${(change.downtimeMs / 1000).toFixed(1)}s validator down (first stop -> online)${phases ? paint.dim(`; phases: ${phases}`) : ''}`);
  }
  const d = r.deferral;
  row(
    'Deferred',
    d ? (d.overdue ? paint.bad(`for ${roughDuration(d.forMs)} since ${isoSeconds(d.since)}, longer than MAX_DEFERRAL ${formatDuration(d.maxMs)}`) : paint.warn(`for ${roughDuration(d.forMs)} since ${isoSeconds(d.since)}`)) : 'no',
  );

  const lock = r.gates.roundLock;
  const lockState = lock.state === 'absent' ? paint.ok('absent') : lock.state === 'stale' ? paint.warn('stale') : lock.state === 'live' ? paint.warn('live') : paint.bad('unknown');
  row('Round lock', `${lockState}${lock.detail ? ` (${lock.detail})` : ''} ${paint.dim(lock.file)}`);
  const api = r.gates.api;
  const apiState = api.state === 'idle' ? paint.ok('idle') : api.state === 'busy' ? paint.warn(`busy, ${api.jobs} job${api.jobs === 1 ? '' : 's'}`) : paint.bad(api.state);
  row('API', `${apiState}${api.detail ? ` (${api.detail})` : ''} ${paint.dim(api.endpoint)}`);
  if (api.portTakenBy) row('', paint.bad(`its port is held by ${api.portTakenBy}: that is not our Validation API`));

  renderPm2(r, paint, row);
  if (r.weights) {
    const w = weightsText(r.weights, nowMs);
    const wait = r.restartWait ? [paint.warn(`release ${short(r.restartWait.sha)} waits (RESTART_POLICY=coalesce) until ${isoSeconds(r.restartWait.until)} (${rel(r.restartWait.until)}): ${r.restartWait.detail}`)] : [];
    row('Weights', w.level === 'ok' ? paint.ok(w.text) : w.level === 'warn' ? paint.warn(w.text) : paint.bad(w.text), ...wait);
  }

  const j = r.journal;
  const failedRollback = rollbackFailed(r);
  const quarantined = r.quarantine.map((q) =>
    failedRollback && q.sha === j?.to ? paint.bad(`${short(q.sha)} failed ${rel(q.at)} (${q.reason}); NOT rolled back: the rollback failed`) : paint.warn(`${short(q.sha)} rolled back ${rel(q.at)} (${q.reason})`),
  );
  row('Quarantine', quarantined[0] ?? 'none', ...quarantined.slice(1));
  const move = j ? `${short(j.from)} -> ${short(j.to)}` : '';
  row(
    'Journal',
    !j
      ? 'none (no interrupted update)'
      : j.running
        ? paint.warn(`update in progress: ${move}${j.rollingBack ? ' (rolling back)' : ''}, phase ${j.phase}, pid ${j.pid}, since ${isoSeconds(j.startedAt)} (${rel(j.startedAt)})`)
        : failedRollback
          ? paint.bad(`ROLLBACK FAILED: update ${move}, phase ${j.phase}, started ${rel(j.startedAt)}; the next update run retries the rollback`)
          : paint.bad(`update ${move}${j.rollingBack ? ' (rolling back)' : ''} interrupted in phase ${j.phase}, started ${rel(j.startedAt)}, pid ${j.pid} gone`),
  );

  lines.push('');
  if (advice.length === 0) {
    // As root, "all good" would be about root's empty PM2 and state.
    lines.push(rootLine ? paint.dim('Nothing more that root can tell: run the command above.') : paint.ok('All good: nothing to do.'));
  } else {
    lines.push(paint.bold('What to do next:'));
    for (const a of advice) {
      const mark = a.level === 'error' ? paint.bad('ERROR') : a.level === 'warn' ? paint.warn('WARN ') : paint.dim('NOTE ');
      lines.push(`  ${mark} ${a.text}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The policy, the signer of HEAD and of the target, and what update would do (DESIGN.md §11). */
function signatureLines(s: SignaturesView, paint: Paint): [string, ...string[]] {
  const one = (label: string, c: CommitSignatureView | undefined) =>
    c ? `${label} ${paint.bold(short(c.sha))} ${c.verdict === 'good' ? paint.ok(`good: ${c.detail}`) : paint.bad(`${c.verdict}: ${c.detail}`)}` : `${label} ${paint.warn('unknown')}`;
  const lines: [string, ...string[]] = [`policy ${s.policy}, ALLOWED_SIGNERS ${s.allowedSigners}${s.revokedSigners ? `, REVOKED_SIGNERS ${s.revokedSigners}` : ''}`];
  if (s.head || s.target) lines.push(one('HEAD  ', s.head), one('target', s.target));
  if (s.error) lines.push(paint.warn(s.error));
  else if (s.holds === true) lines.push(paint.ok(`policy holds: update may deploy ${short(s.target?.sha)}`));
  else if (s.holds === false) {
    const below = s.failing && s.failing.sha !== s.target?.sha ? ` (commit ${short(s.failing.sha)} between HEAD and it: ${s.failing.verdict})` : '';
    lines.push(paint.bad(`policy fails: update refuses ${short(s.target?.sha)}${below}`));
  } else lines.push(paint.dim('nothing to judge: HEAD is the target'));
  return lines;
}

function renderPm2(r: StatusReport, paint: Paint, row: (label: string, value: string, ...more: string[]) => void): void {
  const pm2 = r.pm2;
  if (pm2.state !== 'ok') {
    row('PM2', `${paint.bad(pm2.state)} (${pm2.detail ?? ''})`);
  } else if (pm2.processes.length === 0) {
    row('PM2', paint.bad(`no process in namespace ${r.namespace}`));
  } else {
    const table = [
      ['NAME', 'ID', 'STATUS', 'PID', 'UPTIME', 'RESTARTS'],
      ...pm2.processes.map((p) => [p.name, String(p.pmId), p.status, String(p.pid), p.uptimeMs === undefined ? '-' : roughDuration(p.uptimeMs), String(p.restarts)]),
    ];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((t) => t[c]!.length)));
    const format = (cells: string[], i: number) =>
      cells
        .map((cell, c) => {
          const padded = c === cells.length - 1 ? cell : cell.padEnd(widths[c]!);
          if (i === 0) return paint.dim(padded);
          // Stopped by an update in progress is expected, not an error.
          return c === 2 ? (cell === 'online' ? paint.ok(padded) : r.journal?.running ? paint.warn(padded) : paint.bad(padded)) : padded;
        })
        .join('  ');
    const busy = r.journal?.running && pm2.processes.some((p) => p.status !== 'online') ? ` ${paint.warn('(stopped by the update in progress)')}` : '';
    const count = `${pm2.processes.length} process${pm2.processes.length === 1 ? '' : 'es'} in namespace ${r.namespace}${busy}`;
    row('PM2', count, ...table.map(format));
  }
  if (pm2.logs && pm2.logs.files > 0) {
    const rotation = pm2.logs.rotated ? paint.dim('(rotated by pm2-logrotate)') : pm2.logs.bytes > LOGS_HINT_BYTES ? paint.warn('(not rotated)') : paint.dim('(not rotated)');
    row('PM2 logs', `${formatBytes(pm2.logs.bytes)} in ${pm2.logs.files} file${pm2.logs.files === 1 ? '' : 's'} ${rotation}`);
  }
  const st = pm2.startup;
  const startup =
    st.configured === undefined
      ? paint.dim('unknown (cannot tell the user name)')
      : st.configured
        ? `${paint.ok('configured')} ${paint.dim(`(${st.unit})`)}${st.saved ? ', process list saved' : `, ${paint.warn('no saved process list')}`}`
        : paint.bad(`not configured for ${st.user} (no pm2-${st.user} boot unit)`);
  row('PM2 startup', startup);
}

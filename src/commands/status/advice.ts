import { formatDuration } from '../../core/duration.js';
import { joinWords } from '../../core/envfile.js';
import { describeHolders } from '../../domain/lock-watch.js';
import { ADVICE } from '../../domain/signatures.js';
import { roughDuration } from './age.js';
import { configErrorLines } from '../../core/state.js';
import type { Advice, StatusReport } from './report.js';
import { sandboxSudoFix } from '../../domain/sandbox-sudo.js';
import { formatBytes, LOGS_HINT_BYTES, logrotateCommands } from '../../domain/pm2-logs.js';

type Facts = Omit<StatusReport, 'advice'>;

const ORDER: Record<Advice['level'], number> = { error: 0, warn: 1, info: 2 };
/** A PM2 name as a shell command needs it (names may hold spaces, §4). */
const q = (name: string) => joinWords([name]);
const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

function ago(facts: Facts, iso: string): string {
  const ms = Date.parse(facts.now) - Date.parse(iso);
  return Number.isFinite(ms) ? `${roughDuration(ms)} ago` : iso;
}

/** `update` needs the config file; a missing one is covered by the launch advice. */
const updateCmd = (f: Facts, extra = '') => `alphacore update --config ${f.config.file}${extra}`;

function pm2Advice(f: Facts, out: Advice[]): void {
  const { pm2 } = f;
  if (pm2.logs && !pm2.logs.rotated && pm2.logs.bytes > LOGS_HINT_BYTES) {
    out.push({ level: 'warn', text: `The PM2 logs of namespace ${f.namespace} take ${formatBytes(pm2.logs.bytes)} and grow without limit. Rotate them the PM2 way (needs the npm registry once): ${logrotateCommands(false).join(' && ')} (or rerun alphacore launch with --pm2-logrotate).` });
  }
  if (pm2.state === 'not-running') {
    // The updater restores only a namespace its last run saw running (docs/update-cycle.md).
    const update = f.config.state === 'ok' ? `An update run restores the namespace it last saw running (now: ${updateCmd(f)}); otherwise restore` : 'Restore';
    out.push({ level: 'error', text: `PM2 is not running (${pm2.detail}): the validator is down. ${update} the saved processes with: pm2 resurrect (or rerun alphacore launch with your flags).` });
  } else if (pm2.state === 'unknown') {
    out.push({ level: 'warn', text: `Could not read PM2 (${pm2.detail}). Check that \`pm2 ls\` answers; a stuck daemon is restarted, keeping its processes, by: pm2 update` });
  } else if (pm2.processes.length === 0 && f.config.state !== 'missing' && !f.journal?.running) {
    // (Without a config, the launch advice already covers an empty namespace.)
    out.push({ level: 'error', text: `No PM2 process runs in namespace ${f.namespace}: the validator is not running. Start it with alphacore launch (the same flags as before).` });
  }
  const down = pm2.processes.filter((p) => p.status !== 'online');
  if (f.journal?.running && down.length > 0) {
    // The update stops the namespace on purpose and starts it again itself: not errors.
    out.push({ level: 'info', text: `${down.map((p) => `${p.name} (${p.status})`).join(', ')}: stopped by the update in progress, which starts ${down.length === 1 ? 'it' : 'them'} again (or rolls back). Check again when it has finished; do not restart ${down.length === 1 ? 'it' : 'them'} by hand meanwhile.` });
  } else {
    for (const p of down) {
      // By id: a same-named process may live in another namespace.
      if (p.status === 'stopped' && !f.journal) {
        // §5.5: `pm2 stop` is the operator's choice; the updater never undoes it.
        out.push({ level: 'warn', text: `PM2 process ${p.name} (id ${p.pmId}) is stopped (pm2 stop): the updater leaves it stopped. Start it again with: pm2 start ${p.pmId}` });
      } else if (p.status === 'errored' && f.config.state === 'ok') {
        out.push({ level: 'error', text: `PM2 process ${p.name} (id ${p.pmId}) is errored (its crash loop used up PM2's restarts): the next update run restores it; read pm2 logs ${p.pmId} --lines 100, fix the cause, then: ${updateCmd(f)}` });
      } else {
        out.push({ level: 'error', text: `PM2 process ${p.name} (id ${p.pmId}) is ${p.status}: read pm2 logs ${p.pmId} --lines 100, fix the cause, then pm2 restart ${p.pmId}.` });
      }
    }
  }
  const { startup } = pm2;
  if (startup.configured === false) {
    out.push({ level: 'warn', text: `PM2 is not set up to start at boot for user ${startup.user}: after a reboot the validator stays down. Run pm2 startup, then the sudo command it prints, then pm2 save.` });
  } else if (startup.configured && !startup.saved && pm2.state === 'ok' && pm2.processes.length > 0) {
    out.push({ level: 'warn', text: `PM2 starts at boot but has no saved process list (${pm2.home}/dump.pm2): run pm2 save so a reboot brings the validator back.` });
  }
}

function schedulerAdvice(f: Facts, out: Advice[]): void {
  const s = f.scheduler;
  const ns = f.namespace;
  if (f.config.state === 'missing') return; // launch installs the scheduler too
  if (s.kind === 'none') {
    out.push({ level: 'warn', text: `No auto-update timer or crontab line for namespace ${ns}: updates never run. Install it: alphacore autoupdate enable --namespace ${ns}` });
  } else if (s.kind === 'unknown' && s.unreachable) {
    // Installed, but this session cannot reach the user manager: not a reason to reinstall.
    out.push({ level: 'warn', text: `The auto-update timer ${s.unit ?? ''} is installed, but this session cannot reach your systemd user manager to tell whether it runs (${s.unreachable}). Run status from a login session (ssh) of the user, or with XDG_RUNTIME_DIR=/run/user/$(id -u).` });
  } else if (s.kind === 'unknown') {
    out.push({ level: 'warn', text: `Could not tell whether the auto-update timer is installed (${s.detail}). Check: alphacore autoupdate status --namespace ${ns}` });
  } else if (s.kind === 'cron' && s.cronDaemon === 'not-running') {
    out.push({ level: 'error', text: `No cron daemon runs: the crontab line for namespace ${ns} will never run, so updates never happen. ${s.detail.replace(/^.*?will never run\. /, '')}` });
  } else if (!s.active) {
    out.push({ level: 'warn', text: `The auto-update ${s.kind === 'systemd' ? `timer ${s.unit ?? ''}` : 'crontab line'} is installed but not active: ${s.detail}. Reinstall it: alphacore autoupdate enable --namespace ${ns}` });
  }
  if ('bash' in s && s.bash) out.push({ level: 'warn', text: `${s.bash[0]!.toUpperCase()}${s.bash.slice(1)}` });
  if (s.kind === 'systemd' && s.linger === false) {
    const user = f.pm2.startup.user ?? '$USER';
    out.push({ level: 'warn', text: `Linger is off for ${user}: systemd stops the timer when you log out. Run: sudo loginctl enable-linger ${user}` });
  }
}

/** The journal of a run whose rollback itself failed (the state the updater records, §5.1). */
export function rollbackFailed(f: Pick<Facts, 'journal' | 'lastRun'>): boolean {
  const j = f.journal;
  if (!j || j.running) return false;
  return Boolean(j.rollbackFailed) || f.lastRun?.outcome === 'rollback-failed' || f.lastRun?.reason === 'rollback-failed';
}

/**
 * Whether `update --force` would deploy the quarantined `sha` now: only while it is the
 * updater's target (the PIN when set, else REMOTE/BRANCH as of the last fetch) and HEAD
 * is not there. Returns why it is the target, undefined when it is not, 'unknown' when
 * status cannot tell the target.
 */
function quarantineRetry(f: Facts, sha: string): string | undefined {
  const r = f.repo;
  if (r.head?.sha === sha) return undefined;
  if (r.pin) return sha.startsWith(r.pin.toLowerCase()) ? `it is the PIN in ${f.config.file}, so updates stop until the pin changes` : undefined;
  if (!r.target) return 'unknown';
  return r.target.sha === sha ? `it is the current ${r.remote}/${r.branch}, so updates stop until the branch moves` : undefined;
}

function updateAdvice(f: Facts, out: Advice[]): void {
  const j = f.journal;
  if (j?.running) {
    out.push({ level: 'info', text: `An update is in progress: ${short(j.from)} -> ${short(j.to)}, phase ${j.phase}${j.rollingBack ? ' (rolling back)' : ''}, pid ${j.pid}, since ${j.startedAt} (${ago(f, j.startedAt)}). Its processes are stopped and started on purpose; run alphacore status again when it has finished.` });
  } else if (j && rollbackFailed(f)) {
    const validator = f.config.processes?.validator;
    out.push({
      level: 'error',
      text: `The rollback of the update ${short(j.from)} -> ${short(j.to)} FAILED (phase ${j.phase}, started ${ago(f, j.startedAt)}): the validator may be down and the clone may not be at ${short(j.from)}. Every update run retries the rollback first; read the log${f.scheduler.logFile ? ` ${f.scheduler.logFile}` : ''}, check pm2 list --namespace ${f.namespace}${validator ? ` and pm2 logs ${q(validator)} --lines 100` : ''}, fix the cause, then retry now: ${updateCmd(f, ' --force')}`,
    });
  } else if (j) {
    out.push({ level: 'error', text: `An update from ${short(j.from)} to ${short(j.to)} was interrupted in phase ${j.phase}${j.rollingBack ? ' while rolling back' : ''} (started ${ago(f, j.startedAt)}; pid ${j.pid} is gone). The next update run finishes or rolls it back; to do it now: ${updateCmd(f)}` });
  }
  const held = f.overlapLock;
  if (held?.overBudget) {
    const pids = held.holders.filter((h) => h.alive).map((h) => h.pid);
    out.push({ level: 'error', text: `The updater lock ${held.lockfile} has been held by ${describeHolders(held.holders)} since at least ${held.since}, longer than any update run lasts: no update runs while it is held. Find out what it is${pids.length > 0 ? ` (ps -o pid,user,etime,args -p ${pids.join(',')})` : ''} and end it if it is stuck.` });
  }
  const d = f.deferral;
  if (d?.overdue) {
    const reason = f.lastRun?.outcome === 'deferred' && f.lastRun.reason ? f.lastRun.reason : undefined;
    const why = reason === 'round-active' ? ` The round lock ${f.gates.roundLock.file} has been held throughout: check that the validator finishes its rounds.` : reason === 'api-busy' ? ' The Validation API has reported jobs throughout: check that they finish.' : '';
    out.push({ level: 'warn', text: `Updates have been deferred for ${roughDuration(d.forMs)} (since ${d.since}${reason ? `, last reason ${reason}` : ''}), longer than MAX_DEFERRAL=${formatDuration(d.maxMs)}.${why} To deploy now regardless of the gates (may restart mid-round): ${updateCmd(f, ' --force')}` });
  }
  for (const q of f.quarantine) {
    if (j && rollbackFailed(f) && q.sha === j.to) {
      out.push({ level: 'warn', text: `Release ${short(q.sha)} failed (${q.reason}) and is quarantined, but it was NOT rolled back: the rollback failed (see above).` });
      continue;
    }
    const retry = quarantineRetry(f, q.sha);
    if (retry === 'unknown') {
      out.push({ level: 'info', text: `Release ${short(q.sha)} was rolled back ${ago(f, q.at)} (${q.reason}) and stays quarantined: updates skip it while it is the target.` });
    } else if (retry) {
      out.push({ level: 'warn', text: `Release ${short(q.sha)} was rolled back ${ago(f, q.at)} (${q.reason}) and is quarantined; ${retry}. To retry it anyway once the cause is fixed: ${updateCmd(f, ' --force')}` });
    }
    // Otherwise the target has moved on (or HEAD is there): `update --force` would only
    // say up-to-date, so no advice; the Quarantine line still lists it.
  }
  const last = f.lastRun;
  const saidAbove = last?.reason === 'rollback-failed' && j && rollbackFailed(f);
  if (last && ['failed', 'rolled-back', 'refused'].includes(last.outcome) && !saidAbove) {
    const log = f.scheduler.logFile ? ` in ${f.scheduler.logFile}` : '';
    const fix =
      last.reason === 'dirty-worktree' && f.repo.dir
        ? ` Commit or discard the changes (git -C ${f.repo.dir} status).`
        : last.reason === 'not-forward' && last.to
          ? ` ${f.repo.remote}/${f.repo.branch} at ${short(last.to)} does not descend from the deployed ${short(last.from)} (moved back, or sideways to another branch's commit); updates refuse it until the branch moves forward. If the move is intended: ${updateCmd(f, ` --to ${last.to}`)}`
          : last.reason === 'restore'
            ? ` The namespace is down and restoring it failed; the next runs retry it (at once three times, then after 4, 8 ... 30 min). To retry now: ${updateCmd(f, ' --force')}`
            : '';
    const sudo = last.reason === 'preflight' && f.sandboxSudo && !f.sandboxSudo.ok ? f.sandboxSudo : undefined;
    const what = sudo ? `sudo asks for a password to run the sandbox setup (${sudo.detail}), which this release needs, so every run stops there (nothing is stopped). ${sandboxSudoFix(sudo)}` : `read the log${log}.${fix}`;
    out.push({ level: last.outcome === 'refused' ? 'warn' : 'error', text: `The last update run (${ago(f, last.at)}) ended ${last.outcome}${last.reason ? ` (${last.reason})` : ''}: ${what}` });
  }
}

function configAndRepoAdvice(f: Facts, out: Advice[]): void {
  if (f.config.state === 'missing' && !f.asRoot) {
    out.push({ level: 'error', text: `No auto-update config for namespace ${f.namespace} (${f.config.file}): run alphacore launch for this validator; it writes the config and installs the timer.` });
  } else if (f.config.state === 'invalid') {
    out.push({ level: 'error', text: `The auto-update config ${f.config.file} is invalid, so every update run stops at once: ${f.config.problems.join(' ')}` });
  }
  for (const w of f.config.warnings ?? []) out.push({ level: 'warn', text: w });
  const ce = f.configError;
  if (ce) {
    // The updater's own view (its environment may differ from this shell's, e.g. under cron).
    out.push({ level: 'error', text: `The last update run (${ago(f, ce.at)}) stopped at once: it could not use its config ${ce.file}: ${configErrorLines(ce).join(' ')} Fix it; the next run clears this.` });
  }
  const r = f.repo;
  // As root another user's clone is not read on purpose: the root line says why.
  if (r.error && r.dir && !(f.asRoot && r.notReadAsRoot)) out.push({ level: 'warn', text: `Cannot read the deploy clone ${r.dir}: ${r.error}.` });
  if (r.pin) {
    const at = r.head?.sha.startsWith(r.pin.toLowerCase()) ? 'HEAD is there' : `HEAD is at ${short(r.head?.sha)}; the next update run goes to the pin`;
    const held = r.heldByPin ? `; ${r.remote}/${r.branch} is at ${short(r.target?.sha)} and no update takes it while pinned` : '';
    out.push({ level: 'info', text: `Pinned: PIN=${short(r.pin)} in ${f.config.file} keeps this host on that commit whatever ${r.remote}/${r.branch} does (${at}${held}). A fleet rollout sets it (after a stopped rollout: ansible-playbook unpin.yml); remove the line to follow the branch again.` });
  } else if (
    r.relation === 'update-available' &&
    f.signatures?.holds !== false &&
    !f.journal &&
    !f.deferral?.overdue &&
    !f.quarantine.some((q) => q.sha === r.target?.sha) &&
    // A target the history policy refused is not deployed by the next run either (updateAdvice says so).
    !(f.lastRun?.reason === 'not-forward' && f.lastRun.to === r.target?.sha)
  ) {
    // (update refuses root: as root, the scheduler seen is root's, and the command is the user's.)
    const held = f.restartWait?.sha === r.target?.sha ? f.restartWait : undefined;
    const next = held
      ? `it waits for the validator's restart budget (RESTART_POLICY=coalesce) until ${held.until}; to deploy it now (the validator then warms up again): ${updateCmd(f, ' --force')}`
      : f.asRoot ? "an update run as the validator's user deploys it." : f.scheduler.active ? 'the next update run deploys it once the gates allow.' : `deploy it with: ${updateCmd(f)}`;
    out.push({ level: 'info', text: `${r.remote}/${r.branch} is at ${short(r.target?.sha)} (as of the last fetch), HEAD at ${short(r.head?.sha)}; ${next}` });
  }
}

function signatureAdvice(f: Facts, out: Advice[]): void {
  const s = f.signatures;
  if (!s) return;
  if (s.error) out.push({ level: 'warn', text: `Could not check the signatures against ${s.allowedSigners}: ${s.error}.` });
  const bad = s.failing;
  if (s.holds === false && bad) {
    const where = bad.sha === s.target?.sha ? '' : ` (commit ${short(bad.sha)}, between HEAD and it)`;
    const advice = (ADVICE as Record<string, string | undefined>)[bad.verdict] ?? '';
    out.push({ level: 'warn', text: `${f.repo.remote}/${f.repo.branch} at ${short(s.target?.sha)} fails the signature policy${where}: ${bad.verdict}: ${bad.detail}. update refuses it and the validator stays on ${short(f.repo.head?.sha)}. ${advice}`.trim() });
  }
}

function gateAdvice(f: Facts, out: Advice[]): void {
  const { roundLock, api } = f.gates;
  if (roundLock.state === 'stale') {
    out.push({ level: 'info', text: `The round lock ${roundLock.file} is stale (${roundLock.detail}): updates ignore it.` });
  }
  if (api.state === 'unreachable' && f.config.state !== 'missing') {
    const name = f.config.processes?.validationApi ?? 'alphacore-validation-api';
    // As root, `pm2 logs` would read root's PM2, not the validator user's.
    const check = f.asRoot ? 'check its PM2 logs as the validator\'s user' : `check: pm2 logs ${q(name)} --lines 100`;
    out.push({ level: 'info', text: `The Validation API does not answer at ${api.endpoint} (${api.detail}); unless it is disabled on purpose, ${check}` });
  }
}

/**
 * Status as root for another user's validator: said once, first. The PM2, scheduler
 * and clone advice is left out then: root's PM2 daemon, crontab and git see nothing of
 * that user's, and `pm2 resurrect`, `autoupdate enable` or `launch` as root would be
 * wrong (the last two refuse root anyway).
 */
function rootAdvice(f: Facts): Advice | undefined {
  const r = f.asRoot;
  if (!r) return undefined;
  const owner = r.user ?? (r.uid !== undefined ? `the user with uid ${r.uid}` : undefined);
  const whose = owner && r.owns ? `${owner} (owner of ${r.owns})` : "the validator's own user (the one that ran alphacore launch)";
  return {
    level: 'warn',
    text: `status runs as root, but the validator, its PM2 and its auto-update timer belong to ${whose}; the PM2, scheduler and update state shown here are root's and say nothing about them. Run it as that user: ${r.command}`,
  };
}

/** What to do next, most urgent first (pure: the same facts give the same advice). */
export function adviseOn(facts: Facts): Advice[] {
  const out: Advice[] = [];
  configAndRepoAdvice(facts, out);
  updateAdvice(facts, out);
  if (!facts.asRoot) {
    pm2Advice(facts, out);
    schedulerAdvice(facts, out);
  }
  gateAdvice(facts, out);
  signatureAdvice(facts, out);
  // Array.prototype.sort is stable: within a level, the order above holds.
  out.sort((x, y) => ORDER[x.level] - ORDER[y.level]);
  const root = rootAdvice(facts);
  return root ? [root, ...out] : out;
}

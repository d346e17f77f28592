import * as systemd from '../adapters/systemd.js';
import { crontabAvailable } from '../adapters/cron.js';
import type { Context } from '../core/context.js';
import { OperationError, UserError } from '../core/errors.js';
import { parseInterval } from '../core/interval.js';
import { loadTemplates, serviceUnit, timerUnit } from '../render/scheduler.js';
import { applyCronLine, cronDaemonSeen, cronDaemonState, cronState, NO_CRON_FIX, planCronLine, removeCronLine } from './cron-backend.js';
import { checkNamespace, runSpec, userName } from './spec.js';
import {
  applyRemoveSystemd, applySystemd, describeRemoval, hasSystemdFiles, installedInterval, planRemoveSystemd, planSystemd, removeSystemd,
} from './systemd-backend.js';
import {
  describeCronTakeover, describeSystemdTakeover, disableBashInstances, findBashUpdaters, removeBashCronLines,
  unlinkBashInstances,
  bashStatusNote, convertedInstances,
} from './takeover.js';

/**
 * The auto-update scheduler (DESIGN.md §6). launch calls installScheduler; the
 * `autoupdate` command calls all three. A systemd user timer when `systemctl
 * --user` answers, else a crontab line.
 */
export interface SchedulerRequest {
  namespace: string;
  /** Absolute path of the namespace's auto-update config (what the timer runs with). */
  configFile: string;
  /** systemd time span, e.g. "2m". */
  interval: string;
  enableLinger: boolean;
  /** Print what would be installed, change nothing. */
  dryRun: boolean;
  /** The flag the interval came from, for error messages (default --interval). */
  intervalFlag?: string;
  /** REPO_DIR for the run when the config has none (a bash-era config), carried in its environment. */
  repoDir?: string;
}

export interface SchedulerReport {
  kind: 'systemd' | 'cron' | 'none';
  /** Human lines for the operator: what was installed, next run, log path, linger advice. */
  lines: string[];
  namespace?: string;
  /** The interval as systemd writes it (`2m`). */
  interval?: string;
  /** systemd: the timer unit; cron: the crontab line. */
  unit?: string;
  cronLine?: string;
  nextRun?: string;
  logFile?: string;
  linger?: boolean;
  /** Files written (or, in a dry run, that would be). */
  files?: string[];
  /** What of the bash scripts' updater was replaced (or would be): one line each. */
  replaced?: string[];
  /** disable --dry-run: the lines say what would be removed; nothing was. */
  dryRun?: boolean;
}

/** A backstop: the commands that reach the scheduler refuse root first, with their own words. */
function refuseRoot(ctx: Context): void {
  if (ctx.uid === 0) {
    throw new UserError('the auto-update scheduler is per user: it is never installed or removed for root.', {
      hint: 'Run alphacore as the user that runs the validator under PM2 (e.g. sudo -iu <user> alphacore ...).',
    });
  }
}

async function lingerLines(ctx: Context, enable: boolean, dryRun: boolean): Promise<{ linger?: boolean; lines: string[] }> {
  const user = await userName(ctx);
  if (!user) return { lines: ['Linger: unknown (cannot tell the user name); see docs/scheduler.md.'] };
  const command = `sudo loginctl enable-linger ${user}`;
  if (systemd.lingerEnabled(user)) return { linger: true, lines: ['Linger is on: the timer keeps running when you log out.'] };
  if (enable && dryRun) return { linger: false, lines: [`Would run: loginctl enable-linger ${user}`] };
  if (enable) {
    const result = await systemd.enableLinger(ctx, user);
    if (result.ok && systemd.lingerEnabled(user)) return { linger: true, lines: ['Enabled linger: the timer keeps running when you log out.'] };
    const why = (result.stderr || result.stdout).trim().split('\n').at(-1) || `exit ${result.exitCode ?? '?'}`;
    return { linger: false, lines: [`WARNING: loginctl enable-linger failed (${why}); the timer stops when you log out. Run: ${command}`] };
  }
  return { linger: false, lines: [`Linger is off: systemd stops your timers when you log out. Run: ${command}  (or rerun with --enable-linger)`] };
}

export async function installScheduler(ctx: Context, request: SchedulerRequest): Promise<SchedulerReport> {
  refuseRoot(ctx);
  checkNamespace(request.namespace);
  const flag = request.intervalFlag ?? '--interval';
  const interval = parseInterval(request.interval, flag);
  const spec = runSpec(ctx, request.namespace, request.configFile, interval, request.repoDir ? [['REPO_DIR', request.repoDir]] : []);
  const templates = loadTemplates();
  const ns = request.namespace;
  const logFile = ctx.paths.log(ns);
  const base = { namespace: ns, interval: interval.systemd, logFile };
  const manager = await systemd.userManagerAvailable(ctx);
  // What the AlphaCore repo's bash scripts installed for this namespace: replaced, never left beside ours.
  const bash = await findBashUpdaters(ctx, { namespace: ns, configFile: request.configFile });

  if (manager.ok) {
    const planned = planSystemd(ctx, templates, spec); // renders everything (or refuses) before anything is written
    const converted = convertedInstances(ctx, templates, bash, interval);
    const files = [...planned, ...converted.flatMap((c) => c.planned)].map((f) => f.path);
    const unit = timerUnit(ns);
    const replaced = [...describeSystemdTakeover(bash, ns, request.dryRun), ...describeCronTakeover(bash, ns, request.dryRun)];
    if (request.dryRun) {
      const lines = planned.flatMap((f) => [`Would write ${f.path}:`, ...f.content.trimEnd().split('\n').map((l) => `    ${l}`)]);
      lines.push(`Would run: systemctl --user daemon-reload; systemctl --user enable ${unit}; systemctl --user restart ${unit}`);
      const linger = await lingerLines(ctx, request.enableLinger, true);
      return { kind: 'systemd', ...base, unit, files, linger: linger.linger, replaced, lines: [...lines, ...replaced, ...linger.lines] };
    }
    // Bash instances that must not run our template are stopped before it replaces theirs.
    await disableBashInstances(ctx, bash);
    const info = await applySystemd(ctx, planned, ns);
    for (const c of converted) await applySystemd(ctx, c.planned, c.namespace);
    // A crontab line left from a time without a user manager would run the update twice.
    const oldLine = await removeCronLine(ctx, ns).catch(() => undefined);
    await removeBashCronLines(ctx, bash.cronLines);
    const linger = await lingerLines(ctx, request.enableLinger, false);
    const lines = [
      `${info.changed ? 'Installed' : 'Kept'} the systemd user timer ${unit}: every ${interval.systemd} it runs alphacore update --config ${request.configFile}`,
      `  next run: ${info.nextRun ?? 'unknown'}`,
      `  log: ${logFile}`,
      `  check: systemctl --user list-timers '${timerUnit('*')}'; journalctl --user -u ${serviceUnit(ns)}`,
      ...(oldLine ? ['  (removed the crontab line this namespace had before)'] : []),
      ...replaced,
      ...linger.lines,
    ];
    return { kind: 'systemd', ...base, unit, files, nextRun: info.nextRun, linger: linger.linger, replaced, lines };
  }

  if (!(await crontabAvailable(ctx))) {
    throw new OperationError(
      `cannot install the auto-update scheduler: systemctl --user does not answer (${manager.why}) and crontab is not installed. ` +
        'Install cron (sudo apt-get install cron) or log in with a systemd user session, or launch with --no-autoupdate.',
    );
  }
  const line = planCronLine(templates, spec, interval, flag);
  // A line no daemon reads never runs: said first, in the dry run too, and it has no next run.
  const daemonSeen = cronDaemonSeen();
  const noDaemon = daemonSeen ? [] : [`WARNING: no cron daemon runs on this machine: the crontab line will never run until one does. ${NO_CRON_FIX}`];
  if (request.dryRun) {
    const replaced = describeCronTakeover(bash, ns, true);
    return { kind: 'cron', ...base, cronLine: line, replaced, lines: [...noDaemon, 'Would add to your crontab (systemctl --user is not available):', `    ${line}`, ...replaced] };
  }
  const changed = await applyCronLine(ctx, ns, line, bash.cronLines.map((l) => l.line));
  const removed = hasSystemdFiles(ctx, ns) ? await removeSystemd(ctx, ns, false) : [];
  const unlinked = unlinkBashInstances(ctx, bash, ns);
  const replaced = [
    ...describeCronTakeover(bash, ns, false),
    ...unlinked.map((u) => `Removed the enable link of the bash updater's ${u} (systemctl --user is not available to stop it; it would run beside the crontab line).`),
  ];
  const state = await cronState(ctx, ns);
  const nextRun = daemonSeen ? state?.nextRun : undefined;
  const lines = [
    ...noDaemon,
    `${changed ? 'Installed' : 'Kept'} the crontab line for namespace ${ns} (systemctl --user is not available: ${manager.why}): every ${interval.systemd}`,
    `  ${line}`,
    `  next run: ${daemonSeen ? (nextRun ?? 'unknown') : 'none: no cron daemon runs'}`,
    `  log: ${logFile}`,
    `  check: crontab -l | grep 'alphacore-autoupdate:${ns}'`,
    ...(removed.length > 0 ? ['  (removed the systemd unit files this namespace had before)'] : []),
    ...replaced,
  ];
  return { kind: 'cron', ...base, cronLine: line, nextRun, replaced, lines };
}

/** Removes the namespace's timer and crontab line; a dry run says what it would remove and changes nothing. */
export async function removeScheduler(ctx: Context, namespace: string, options: { dryRun?: boolean } = {}): Promise<SchedulerReport> {
  refuseRoot(ctx);
  checkNamespace(namespace);
  const dryRun = options.dryRun ?? false;
  const manager = await systemd.userManagerAvailable(ctx);
  const steps = await planRemoveSystemd(ctx, namespace, manager.ok);
  if (!dryRun) await applyRemoveSystemd(ctx, steps, manager.ok);
  const lines = steps.map((step) => describeRemoval(step, dryRun));
  const kind: SchedulerReport['kind'] = lines.length > 0 ? 'systemd' : 'none';
  const line = await removeCronLine(ctx, namespace, dryRun);
  if (line !== undefined) lines.push(`${dryRun ? 'Would remove' : 'Removed'} the crontab line: ${line}`);
  if (lines.length === 0) lines.push(`Nothing to remove: no timer or crontab line is installed for namespace ${namespace}.`);
  return { kind: line !== undefined && kind === 'none' ? 'cron' : kind, namespace, lines, ...(dryRun ? { dryRun: true } : {}) };
}

export interface SchedulerStatus {
  kind: 'systemd' | 'cron' | 'none' | 'unknown';
  /** Timer active / crontab line present. */
  active: boolean;
  /** ISO time of the next run when known (systemd). */
  nextRun?: string;
  interval?: string;
  /** Linger on (systemd user timers survive logout); undefined when unknown. */
  linger?: boolean;
  detail: string;
  /** The timer unit (systemd) or the crontab line (cron). */
  unit?: string;
  cronLine?: string;
  lastRun?: string;
  logFile?: string;
  /** A bash updater (autoupdate_release.sh) still installed for the namespace, with the fix. */
  bash?: string;
  /** cron: whether a cron daemon runs (a line without one never runs). */
  cronDaemon?: 'running' | 'not-running' | 'unknown';
  /** Why this session cannot reach the user's systemd manager (the timer may run all the same). */
  unreachable?: string;
}

/** What is installed for a namespace now; never throws (a failed probe is `unknown`). */
export async function schedulerStatus(ctx: Context, namespace: string): Promise<SchedulerStatus> {
  const status = await ourSchedulerStatus(ctx, namespace);
  if (status.kind === 'unknown' || ctx.uid === 0) return status;
  const bash = await bashStatusNote(ctx, namespace).catch(() => undefined);
  return bash ? { ...status, bash } : status;
}

async function ourSchedulerStatus(ctx: Context, namespace: string): Promise<SchedulerStatus> {
  const logFile = ctx.paths.log(namespace);
  if (ctx.uid === 0) {
    // Never installed for root (and root's own crontab is not ours to probe).
    return { kind: 'none', active: false, detail: 'the scheduler is per user and never installed for root; run as the validator user', logFile };
  }
  try {
    checkNamespace(namespace);
    const unit = timerUnit(namespace);
    const manager = await systemd.userManagerAvailable(ctx);
    const user = await userName(ctx);
    const linger = user ? systemd.lingerEnabled(user) : undefined;
    if (manager.ok) {
      const info = await systemd.timerInfo(ctx, unit);
      if (info.enabled || info.active || hasSystemdFiles(ctx, namespace)) {
        // While a run is in progress systemd has no next time yet: say why it is missing.
        const running = await systemd.unitActivating(ctx, serviceUnit(namespace));
        const detail = info.active
          ? `systemd timer ${unit} is active${info.enabled ? '' : ' (but not enabled: it will not start at login)'}${running ? '; an update is running now' : ''}`
          : `systemd timer ${unit} is installed but not active; run alphacore autoupdate enable --namespace ${namespace}`;
        return { kind: 'systemd', active: info.active, unit, nextRun: info.nextRun, lastRun: info.lastRun, interval: installedInterval(ctx, namespace), linger, detail, logFile };
      }
    }
    const cron = await cronState(ctx, namespace);
    if (cron) {
      const daemon = cronDaemonState();
      const base = { kind: 'cron' as const, cronLine: cron.line, interval: cron.interval, logFile };
      if (daemon.running === false) {
        // Never "active", and no next run: nothing will ever fire the line.
        return { ...base, active: false, cronDaemon: 'not-running', detail: `the crontab line is installed but no cron daemon runs, so it will never run. ${NO_CRON_FIX}` };
      }
      const detail = daemon.running ? `crontab line installed; cron runs (pid ${daemon.pid})` : 'crontab line installed (cannot tell whether a cron daemon runs: /proc hides other users\' processes)';
      return { ...base, active: true, nextRun: cron.nextRun, cronDaemon: daemon.running ? 'running' : 'unknown', detail };
    }
    if (hasSystemdFiles(ctx, namespace)) {
      if (manager.unreachable) {
        // The timer may well run: "not active" would be a wrong answer, so say we cannot tell.
        return {
          kind: 'unknown', active: false, unit, interval: installedInterval(ctx, namespace), linger, logFile, unreachable: manager.unreachable,
          detail: `the systemd timer ${unit} is installed, but whether it runs cannot be told from this session: ${manager.unreachable}. Run this from a login session of the user (ssh), or with XDG_RUNTIME_DIR=/run/user/${ctx.uid}`,
        };
      }
      return { kind: 'systemd', active: false, unit, interval: installedInterval(ctx, namespace), linger, detail: `unit files are installed but systemctl --user does not answer (${manager.why})`, logFile };
    }
    return { kind: 'none', active: false, detail: `no timer or crontab line is installed for namespace ${namespace}`, logFile };
  } catch (error) {
    return { kind: 'unknown', active: false, detail: `could not tell: ${(error as Error).message}`, logFile };
  }
}

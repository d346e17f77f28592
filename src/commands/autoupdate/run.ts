import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../../core/context.js';
import { DEFAULTS, readConfig } from '../../core/config.js';
import { Problems, UserError } from '../../core/errors.js';
import { intervalProblem } from '../../core/interval.js';
import { schedulerBackend } from '../../scheduler/backend.js';
import { installScheduler, removeScheduler, schedulerStatus } from '../../scheduler/index.js';
import { checkNamespace } from '../../scheduler/spec.js';

export interface AutoupdateFlags {
  action: 'enable' | 'disable' | 'status';
  namespace?: string;
  config?: string;
  interval?: string;
  enableLinger: boolean;
  dryRun: boolean;
  json: boolean;
}

const DEFAULT_INTERVAL = '2m';

/**
 * The namespace a given config file names (PM2_NAMESPACE), read in salvage mode: a bad
 * line elsewhere does not stop `disable` or `status`, and `enable` validates the whole
 * file below. The file alone decides: the timer runs without this shell's environment.
 */
function configNamespace(ctx: Context, file: string): string | undefined {
  const reading = readConfig({ file, env: {}, paths: ctx.paths }, 'salvage');
  if (reading.found !== 'read') return undefined;
  const wrong = reading.keyProblems.get('PM2_NAMESPACE');
  if (wrong) throw new UserError(wrong.join('\n'), { hint: 'Fix PM2_NAMESPACE in the config (the namespace is part of file and PM2 names), or pass --namespace with a config of that namespace.' });
  return reading.config.namespace;
}

/** --namespace and --config decide each other when only one is given; both must agree. */
function resolveTarget(ctx: Context, flags: AutoupdateFlags): { namespace: string; configFile: string } {
  const configFile = flags.config ? path.resolve(ctx.cwd, flags.config) : undefined;
  const fromConfig = configFile ? configNamespace(ctx, configFile) : undefined;
  if (flags.namespace && fromConfig && fromConfig !== flags.namespace) {
    throw new UserError(`--namespace ${flags.namespace} does not match PM2_NAMESPACE=${fromConfig} in ${configFile}.`, {
      hint: 'Drop --namespace (the config decides) or pass the config of that namespace.',
    });
  }
  const namespace = flags.namespace ?? fromConfig ?? DEFAULTS.PM2_NAMESPACE;
  checkNamespace(namespace, flags.namespace ? '--namespace' : `PM2_NAMESPACE in ${configFile}`);
  return { namespace, configFile: configFile ?? ctx.paths.autoupdateConfig(namespace) };
}

/**
 * The scheduler is the validator user's (their crontab, their systemd user manager, their
 * config): as root there is nothing to install or remove, and the config check would send
 * the operator to `alphacore launch`, which refuses root too. So this comes first.
 */
function refuseRoot(ctx: Context, flags: AutoupdateFlags): void {
  if (ctx.uid !== 0 || flags.action === 'status') return;
  const command = `alphacore autoupdate ${flags.action}${flags.namespace ? ` --namespace ${flags.namespace}` : ''}`;
  const why = flags.action === 'enable'
    ? 'the timer or crontab line is per user and must run as the validator\'s own user (its PM2 daemon, its deploy clone, its config).'
    : 'the timer or crontab line it removes belongs to the validator\'s own user, not to root.';
  throw new UserError(`autoupdate ${flags.action} refuses to run as root: ${why}`, {
    hint: `Run it as the validator's user, the one that ran alphacore launch, e.g. \`sudo -iu <user> ${command}\`. Nothing was changed.`,
  });
}

/** Flags only `enable` uses: refused elsewhere rather than silently ignored. */
function refuseEnableOnlyFlags(flags: AutoupdateFlags): void {
  if (flags.action === 'enable') return;
  const problems = new Problems();
  const given: [string, boolean][] = [['--interval', flags.interval !== undefined], ['--enable-linger', flags.enableLinger]];
  for (const [flag, present] of given) {
    if (present) problems.add(`${flag} only applies to alphacore autoupdate enable; ${flags.action} ${flags.action === 'disable' ? 'removes the timer whatever its settings' : 'only reports what is installed'}.`);
  }
  problems.throwIfAny(`autoupdate ${flags.action}: flags it does not take (nothing was changed):`, `Drop them, or run alphacore autoupdate enable ${flags.interval !== undefined ? `--interval ${flags.interval} ` : ''}to change the timer.`);
}

/**
 * `alphacore autoupdate`. With --json an error is one object on stdout too (exit code
 * unchanged): cli.ts's catch prints it, for this command's errors and yargs' alike.
 */
export async function runAutoupdate(ctx: Context, flags: AutoupdateFlags): Promise<number> {
  refuseRoot(ctx, flags);
  refuseEnableOnlyFlags(flags);
  const { namespace, configFile } = resolveTarget(ctx, flags);
  const print = (object: unknown, lines: string[]) =>
    ctx.stdout(flags.json ? `${JSON.stringify(object)}\n` : lines.map((l) => `${l}\n`).join(''));

  if (flags.action === 'status') {
    const status = await schedulerStatus(ctx, namespace);
    const lines = [
      `namespace: ${namespace}`,
      `scheduler: ${status.kind}${status.active ? ' (active)' : status.kind === 'none' ? '' : ' (NOT active)'}: ${status.detail}`,
      ...(status.cronDaemon === 'not-running' ? ['ERROR: no cron daemon runs: the crontab line will never run (see above for the fix).'] : []),
      ...(status.interval ? [`interval: ${status.interval}`] : []),
      ...(status.nextRun ? [`next run: ${status.nextRun}`] : []),
      ...(status.lastRun ? [`last run: ${status.lastRun}`] : []),
      ...(status.cronLine ? [`crontab line: ${status.cronLine}`] : []),
      ...(status.kind === 'systemd' && status.linger !== undefined ? [`linger: ${status.linger ? 'on' : 'off (the timer stops at logout; see alphacore autoupdate enable --enable-linger)'}`] : []),
      `log: ${status.logFile}`,
      ...(status.bash ? [`WARNING: ${status.bash}`] : []),
    ];
    print({ namespace, ...status }, lines);
    // A line nothing will ever run is not a working scheduler.
    return status.kind === 'unknown' || status.cronDaemon === 'not-running' ? 1 : 0;
  }

  if (flags.action === 'disable') {
    const report = await removeScheduler(ctx, namespace, { dryRun: flags.dryRun });
    print(report, report.lines);
    return 0;
  }

  // Every bad flag at once, before anything is touched.
  const interval = flags.interval ?? ctx.env.ALPHACORE_AUTOUPDATE_INTERVAL ?? DEFAULT_INTERVAL;
  const intervalFlag = flags.interval === undefined && ctx.env.ALPHACORE_AUTOUPDATE_INTERVAL ? 'ALPHACORE_AUTOUPDATE_INTERVAL' : '--interval';
  const problems = new Problems();
  const intervalWrong = intervalProblem(interval, intervalFlag, await schedulerBackend(ctx));
  if (intervalWrong) problems.add(intervalWrong);
  if (!fs.existsSync(configFile)) {
    problems.add(`--config: ${configFile} does not exist, so the timer would have nothing to run. Run \`alphacore launch\` first (it writes that config), or pass --config with the auto-update config of this namespace.`);
  }
  problems.throwIfAny('cannot enable auto-update:');
  // A bash-era config has no REPO_DIR (the script's own clone was implied): the clone
  // the bash updater ran in is carried in the timer's environment instead.
  const { configHasRepoDir, findBashUpdaters } = await import('../../scheduler/takeover.js');
  const repoDir = configHasRepoDir(ctx, configFile) ? undefined : (await findBashUpdaters(ctx, { namespace, configFile })).repo;
  // The same validation every timer run does: better to fail now than every 2 minutes.
  readConfig({ file: configFile, env: ctx.env, overrides: { repoDir }, paths: ctx.paths }, 'strict');
  const report = await installScheduler(ctx, {
    namespace,
    configFile,
    interval,
    intervalFlag,
    enableLinger: flags.enableLinger,
    dryRun: flags.dryRun,
    repoDir,
  });
  print(report, report.lines);
  return 0;
}

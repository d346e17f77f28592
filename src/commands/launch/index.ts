import fs from 'node:fs';
import path from 'node:path';
import { readIfExists } from '../../adapters/files.js';
import type { Context } from '../../core/context.js';
import { parseEnvFile } from '../../core/envfile.js';
import { OperationError, UserError } from '../../core/errors.js';
import { UpdateLog } from '../../core/log.js';
import { applyPlan, noAutoupdateNote } from '../../domain/launch/apply.js';
import { dryRunJson, errorJson, resultJson } from '../../domain/launch/json.js';
import type { LaunchArgs } from '../../domain/launch/options.js';
import { readState } from '../../core/state.js';
import { launchHealth } from '../../domain/launch/health.js';
import { MANAGED_CONFIG_KEYS, planLaunch, type LaunchPlan } from '../../domain/launch/plan.js';
import { renderDryRun, type DryRunFacts } from '../../domain/launch/print.js';
import { resolveLaunchOptions } from '../../domain/launch/validate.js';
import { schedulerBackend } from '../../scheduler/backend.js';
import { inspectVenv } from '../../domain/launch/venv.js';
import { guardNamespaceQuietly, probePm2Quietly } from '../../domain/launch/pm2-probe.js';
import { secretValues } from '../../core/secrets.js';
import { verifyFirstDeploy } from './verify-head.js';
import { checkFollowedBranch } from './followed-branch.js';
import { sandboxSudoWarning } from '../../domain/launch/sandbox-note.js';
import { installLogrotate, LOGROTATE_MODULE, logrotateCommands } from '../../domain/pm2-logs.js';
import { openPm2 } from '../../adapters/pm2.js';

export { parseLaunchArgv } from '../../domain/launch/options.js';
import { ecosystemOf, factsFor, refuseRootLaunch, repoOf, versionOf } from '../../domain/launch/relaunch.js';

/** Entries of an existing auto-update config that launch does not manage (the operator's own). */
function keptEntries(ctx: Context, file: string): [string, string][] {
  const text = readIfExists(file);
  if (text === undefined) return [];
  const managed = new Set<string>(MANAGED_CONFIG_KEYS);
  const seen = new Map<string, string>();
  for (const e of parseEnvFile(text, { source: file, home: ctx.paths.home })) if (!managed.has(e.key)) seen.set(e.key, e.value);
  return [...seen];
}

/** Warnings about what the updater will need later, for the dry run and the real run alike. */
async function laterWarnings(ctx: Context, plan: LaunchPlan, kept: readonly [string, string][], branch: string | undefined): Promise<string[]> {
  const sandbox = await sandboxSudoWarning(ctx, plan, kept);
  return [...(branch ? [branch] : []), ...(sandbox ? [sandbox] : [])];
}

/** --pm2-logrotate, after the validator runs: PM2's own log rotation, in the operator's PM2. */
async function pm2Logrotate(ctx: Context, write: (text: string) => void): Promise<void> {
  const installed = (await openPm2(ctx).list()).some((p) => p.name === LOGROTATE_MODULE);
  for (const line of await installLogrotate(ctx, installed)) write(`${line}\n`);
}

async function dryRunFacts(ctx: Context, plan: LaunchPlan): Promise<DryRunFacts> {
  const facts: DryRunFacts = {
    venv: await inspectVenv(ctx, plan.options.venvDir),
    // Not `pm2 --version`: any pm2 command starts a daemon, and a dry run starts nothing.
    pm2: probePm2Quietly(ctx),
    current: readIfExists,
    // Long values only: an environment variable named like a key may hold a common word.
    envSecrets: secretValues(Object.entries(ctx.env)).filter((v) => v.length >= 8),
  };
  if (!plan.scheduler && plan.autoupdateConfig) facts.noAutoupdate = await noAutoupdateNote(ctx, plan.options.namespace, plan.autoupdateConfig.path);
  if (plan.scheduler) {
    const { installScheduler } = await import('../../scheduler/index.js');
    try {
      facts.scheduler = await installScheduler(ctx, { ...plan.scheduler, dryRun: true });
    } catch (error) {
      if (!(error instanceof OperationError || error instanceof UserError)) throw error;
      facts.scheduler = { error: error.message };
    }
  }
  return facts;
}

const LAUNCH_LOG_MAX_BYTES = 5 * 1024 * 1024;

/**
 * `alphacore launch`: validate, plan, then print (--dry-run) or apply. Returns the exit
 * code. Long steps show as phases (a live line on a terminal); their subprocess output
 * and launch's report lines go to the namespace's log, tagged [launch]. With --json
 * nothing but one object is printed: the plan and the result, or the error.
 */
export async function runLaunch(ctx: Context, args: LaunchArgs): Promise<number> {
  const messages: string[] = [];
  const collect = (text: string) => messages.push(...text.split('\n').filter((l) => l.trim()));
  let plan: LaunchPlan | undefined;
  try {
    refuseRootLaunch(ctx, args.repoDir);
    // Which scheduler would run the timer decides which intervals are valid (cron: not 7m).
    const scheduler = args.autoupdate ? await schedulerBackend(ctx) : undefined;
    const options = resolveLaunchOptions(withPreparedVenv(ctx, args), { ...factsFor(ctx, await repoOf(ctx, args.repoDir)), scheduler }, 'launch');
    const configPath = ctx.paths.autoupdateConfig(options.namespace);
    const kept = keptEntries(ctx, configPath);
    plan = planLaunch(options, {
      version: versionOf(options.repoDir),
      autoupdateConfigPath: configPath,
      keptConfigEntries: kept,
      ecosystem: ecosystemOf(options.repoDir),
      health: launchHealth({ file: configPath, env: ctx.env, paths: ctx.paths }),
    });
    // Before anything starts, and in a dry run too: it must refuse what the real run refuses.
    const signed = await verifyFirstDeploy(ctx, { repoDir: options.repoDir, allowedSigners: options.allowedSigners, signaturePolicy: options.signaturePolicy, kept });
    // The branch the timer will follow: a remote the clone lacks fails every run, so it is refused now.
    const branch = plan.autoupdateConfig ? await checkFollowedBranch(ctx, { repoDir: options.repoDir, configFile: configPath, kept }) : undefined;
    if (options.dryRun) {
      // The same refusal as the real run (apply.ts preflight), before any plan is shown.
      await guardNamespaceQuietly(ctx, plan.pm2App, options.replace);
      const rotation = args.pm2Logrotate
        ? [`PM2 log rotation (--pm2-logrotate): would run ${logrotateCommands(false).join('; ')} (the install is skipped when ${LOGROTATE_MODULE} runs already; it downloads the module from the npm registry).`]
        : [];
      const facts = { ...(await dryRunFacts(ctx, plan)), notes: [...rotation, ...(await laterWarnings(ctx, plan, kept, branch))] };
      ctx.stdout(args.json ? dryRunJson(plan, facts) : renderDryRun(plan, facts));
      return 0;
    }
    const log = new UpdateLog(args.json ? { ...ctx, stdout: collect } : ctx, args.json, 'launch');
    log.attach(ctx.paths.log(options.namespace), LAUNCH_LOG_MAX_BYTES, plan.secrets);
    if (signed) log.info(`the deploy clone's HEAD ${signed.sha.slice(0, 7)} passes the signature policy: ${signed.detail}`);
    try {
      const result = await applyPlan({ ...ctx, stdout: (text) => log.write(text) }, plan, 'launch', log);
      for (const warning of await laterWarnings(ctx, plan, kept, branch)) log.write(`${warning}\n`);
      if (args.pm2Logrotate) await pm2Logrotate(ctx, (text) => log.write(text));
      if (args.json) ctx.stdout(resultJson(plan, result, messages));
    } finally {
      log.close();
    }
    return 0;
  } catch (error) {
    const json = args.json ? errorJson(error, plan, messages) : undefined;
    if (!json) throw error;
    ctx.stdout(json.text);
    return json.exitCode;
  }
}

/**
 * After an update the validator runs from a prepared venv (DESIGN.md §5.4), recorded in
 * the namespace's state. Without --venv-dir, launch uses that one too: a re-run of
 * launch with the same flags then sees the same settings and leaves the validator be.
 */
function withPreparedVenv(ctx: Context, args: LaunchArgs): LaunchArgs {
  if (args.venvDir !== undefined) return args;
  const ns = args.pm2Namespace || ctx.env.PM2_NAMESPACE || 'alphacore';
  const prepared = readState(ctx.paths.state(ns), ctx.now()).venvs?.current?.validator;
  return prepared && fs.existsSync(path.join(prepared, '.alphacore-complete')) ? { ...args, venvDir: prepared } : args;
}


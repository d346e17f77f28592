import fs from 'node:fs';
import path from 'node:path';
import { readIfExists } from '../../adapters/files.js';
import { openGit } from '../../adapters/git.js';
import type { Context } from '../../core/context.js';
import type { Pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import { parseEnvFile } from '../../core/envfile.js';
import { OperationError, UserError } from '../../core/errors.js';
import { UpdateLog } from '../../core/log.js';
import { applyPlan, noAutoupdateNote } from './apply.js';
import { dryRunJson, errorJson, resultJson } from './json.js';
import { parseLaunchArgv, type LaunchArgs } from './options.js';
import { readState } from '../../core/state.js';
import { launchHealth } from './health.js';
import { ECOSYSTEM_FILE, ecosystemEntrypoint, MANAGED_CONFIG_KEYS, planLaunch, type Ecosystem, type LaunchPlan } from './plan.js';
import { renderDryRun, type DryRunFacts } from './print.js';
import { resolveLaunchOptions, type LaunchFacts, type LaunchOptions } from './validate.js';
import { schedulerBackend } from '../../scheduler/backend.js';
import { inspectVenv } from './venv.js';
import { guardNamespaceQuietly, probePm2Quietly } from './pm2-probe.js';
import { secretValues } from '../../core/secrets.js';

export { parseLaunchArgv } from './options.js';
export { validatorArgsFromConfig, validatorArgvFromConfig } from './relaunch-args.js';

async function repoOf(ctx: Context, given: string | undefined): Promise<Pick<LaunchFacts, 'repoDir' | 'repoProblem'>> {
  if (given !== undefined) {
    const dir = path.resolve(ctx.cwd, given);
    if (!given || !fs.existsSync(path.join(dir, '.git'))) return { repoProblem: `--repo-dir ${given} is not a git clone (no .git); pass the deploy clone of AlphaCore.` };
    return { repoDir: dir };
  }
  try {
    return { repoDir: await openGit(ctx.cwd, ctx.env, 20_000).topLevel() };
  } catch {
    return { repoProblem: `The current directory ${ctx.cwd} is not inside a git clone: run launch from the AlphaCore deploy clone, or pass --repo-dir.` };
  }
}

function factsFor(ctx: Context, repo: Pick<LaunchFacts, 'repoDir' | 'repoProblem'>): LaunchFacts {
  return { env: ctx.env, home: ctx.paths.home, cwd: ctx.cwd, stateDir: ctx.paths.autoupdateStateDir, ...repo, exists: (f) => fs.existsSync(f), readText: (f) => readIfExists(f) };
}

/** The clone's validator ecosystem file and its default entry point, when it has one. */
function ecosystemOf(repoDir: string): Ecosystem | undefined {
  const file = path.join(repoDir, ECOSYSTEM_FILE);
  const text = readIfExists(file);
  return text === undefined ? undefined : { file, defaultEntrypoint: ecosystemEntrypoint(text) };
}

function versionOf(repoDir: string): string {
  return readIfExists(path.join(repoDir, 'VERSION'))?.replace(/\s+/g, '') || '0.0.0';
}

/** Entries of an existing auto-update config that launch does not manage (the operator's own). */
function keptEntries(ctx: Context, file: string): [string, string][] {
  const text = readIfExists(file);
  if (text === undefined) return [];
  const managed = new Set<string>(MANAGED_CONFIG_KEYS);
  const seen = new Map<string, string>();
  for (const e of parseEnvFile(text, { source: file, home: ctx.paths.home })) if (!managed.has(e.key)) seen.set(e.key, e.value);
  return [...seen];
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

function refuseRoot(ctx: Context): void {
  if (ctx.uid !== 0) return;
  throw new UserError('launch refuses to run as root.', {
    hint: 'The validator, its PM2 daemon, its env files and the auto-update timer belong to the operator\'s own user; as root they would land in root\'s PM2 and home. Run it as that user, e.g. `sudo -iu <user> alphacore launch ...` or log in as them.',
  });
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
    refuseRoot(ctx);
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
      health: launchHealth(ctx.env, kept),
    });
    if (options.dryRun) {
      // The same refusal as the real run (apply.ts preflight), before any plan is shown.
      await guardNamespaceQuietly(ctx, plan.pm2App, options.replace);
      const facts = await dryRunFacts(ctx, plan);
      ctx.stdout(args.json ? dryRunJson(plan, facts) : renderDryRun(plan, facts));
      return 0;
    }
    const log = new UpdateLog(args.json ? { ...ctx, stdout: collect } : ctx, args.json, 'launch');
    log.attach(ctx.paths.log(options.namespace), LAUNCH_LOG_MAX_BYTES, plan.secrets);
    try {
      const result = await applyPlan({ ...ctx, stdout: (text) => log.write(text) }, plan, 'launch', log);
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

/** Parses and validates relaunch flags without touching anything (the update's preflight). */
export async function resolveRelaunch(ctx: Context, argv: string[] | LaunchArgs, repoDir: string): Promise<LaunchOptions> {
  refuseRoot(ctx);
  // Typed options pass as they are; an argv (tests, tools) is parsed once, here.
  const args = Array.isArray(argv) ? await parseLaunchArgv(argv) : argv;
  return resolveLaunchOptions({ ...args, register: false, dryRun: false, replace: false }, factsFor(ctx, await repoOf(ctx, repoDir)), 'relaunch');
}

/**
 * The validator relaunch of the update cycle (DESIGN.md §5 step 13): `argv` are launch
 * flags (e.g. from validatorArgvFromConfig); validates them (UserError listing every
 * problem), rewrites the validator env file and (re)starts the validator under PM2.
 * Never writes the auto-update config, never touches the scheduler, never registers.
 */
export async function relaunchValidator(ctx: Context, argv: string[] | LaunchArgs, repoDir: string, daemon?: Pm2DaemonLink): Promise<void> {
  const options = await resolveRelaunch(ctx, argv, repoDir);
  const plan = planLaunch(
    options,
    { version: versionOf(options.repoDir), autoupdateConfigPath: ctx.paths.autoupdateConfig(options.namespace), keptConfigEntries: [], ecosystem: ecosystemOf(options.repoDir) },
    'relaunch',
  );
  await applyPlan(ctx, plan, 'relaunch', undefined, daemon);
}

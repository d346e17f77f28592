import fs from 'node:fs';
import path from 'node:path';
import { readIfExists } from '../../adapters/files.js';
import { openGit } from '../../adapters/git.js';
import type { Context } from '../../core/context.js';
import { parseEnvFile } from '../../core/envfile.js';
import { OperationError, UserError } from '../../core/errors.js';
import { applyPlan } from './apply.js';
import { parseLaunchArgv, type LaunchArgs } from './options.js';
import { launchHealth } from './health.js';
import { ECOSYSTEM_FILE, ecosystemEntrypoint, MANAGED_CONFIG_KEYS, planLaunch, type Ecosystem, type LaunchPlan } from './plan.js';
import { renderDryRun, type DryRunFacts } from './print.js';
import { resolveLaunchOptions, type LaunchFacts, type LaunchOptions } from './validate.js';
import { inspectVenv } from './venv.js';
import { probePm2Quietly } from './pm2-probe.js';
import { secretValues } from '../../core/secrets.js';

export { parseLaunchArgv } from './options.js';
export { validatorArgvFromConfig } from './relaunch-args.js';

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
  throw new UserError('alphacore launch refuses to run as root.', {
    hint: 'The validator, its PM2 daemon, its env files and the auto-update timer belong to the operator\'s own user; as root they would land in root\'s PM2 and home. Run it as that user, e.g. `sudo -iu <user> alphacore launch ...` or log in as them.',
  });
}

/** `alphacore launch`: validate, plan, then print (--dry-run) or apply. Returns the exit code. */
export async function runLaunch(ctx: Context, args: LaunchArgs): Promise<number> {
  refuseRoot(ctx);
  const options = resolveLaunchOptions(args, factsFor(ctx, await repoOf(ctx, args.repoDir)), 'launch');
  const configPath = ctx.paths.autoupdateConfig(options.namespace);
  const kept = keptEntries(ctx, configPath);
  const plan = planLaunch(options, {
    version: versionOf(options.repoDir),
    autoupdateConfigPath: configPath,
    keptConfigEntries: kept,
    ecosystem: ecosystemOf(options.repoDir),
    health: launchHealth(ctx.env, kept),
  });
  if (options.dryRun) {
    ctx.stdout(renderDryRun(plan, await dryRunFacts(ctx, plan)));
    return 0;
  }
  await applyPlan(ctx, plan, 'launch');
  return 0;
}

/** Parses and validates relaunch flags without touching anything (the update's preflight). */
export async function resolveRelaunch(ctx: Context, argv: string[], repoDir: string): Promise<LaunchOptions> {
  refuseRoot(ctx);
  const args = await parseLaunchArgv(argv);
  return resolveLaunchOptions({ ...args, register: false, dryRun: false, replace: false }, factsFor(ctx, await repoOf(ctx, repoDir)), 'relaunch');
}

/**
 * The validator relaunch of the update cycle (DESIGN.md §5 step 13): `argv` are launch
 * flags (e.g. from validatorArgvFromConfig); validates them (UserError listing every
 * problem), rewrites the validator env file and (re)starts the validator under PM2.
 * Never writes the auto-update config, never touches the scheduler, never registers.
 */
export async function relaunchValidator(ctx: Context, argv: string[], repoDir: string): Promise<void> {
  const options = await resolveRelaunch(ctx, argv, repoDir);
  const plan = planLaunch(
    options,
    { version: versionOf(options.repoDir), autoupdateConfigPath: ctx.paths.autoupdateConfig(options.namespace), keptConfigEntries: [], ecosystem: ecosystemOf(options.repoDir) },
    'relaunch',
  );
  await applyPlan(ctx, plan, 'relaunch');
}

import fs from 'node:fs';
import path from 'node:path';
import { readIfExists } from '../../adapters/files.js';
import { openGit } from '../../adapters/git.js';
import type { Pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import type { Context } from '../../core/context.js';
import { UserError } from '../../core/errors.js';
import { applyPlan } from './apply.js';
import { parseLaunchArgv, type LaunchArgs } from './options.js';
import { ECOSYSTEM_FILE, ecosystemEntrypoint, planLaunch, type Ecosystem } from './plan.js';
import { resolveLaunchOptions, type LaunchFacts, type LaunchOptions } from './validate.js';

export { relaunchArgs, validatorArgvFromConfig } from './relaunch-args.js';

export async function repoOf(ctx: Context, given: string | undefined): Promise<Pick<LaunchFacts, 'repoDir' | 'repoProblem'>> {
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

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export function factsFor(ctx: Context, repo: Pick<LaunchFacts, 'repoDir' | 'repoProblem'>): LaunchFacts {
  return { env: ctx.env, home: ctx.paths.home, cwd: ctx.cwd, stateDir: ctx.paths.autoupdateStateDir, ...repo, exists: (f) => fs.existsSync(f), readText: (f) => readIfExists(f), listDir };
}

/** The clone's validator ecosystem file and its default entry point, when it has one. */
export function ecosystemOf(repoDir: string): Ecosystem | undefined {
  const file = path.join(repoDir, ECOSYSTEM_FILE);
  const text = readIfExists(file);
  return text === undefined ? undefined : { file, defaultEntrypoint: ecosystemEntrypoint(text) };
}

export function versionOf(repoDir: string): string {
  return readIfExists(path.join(repoDir, 'VERSION'))?.replace(/\s+/g, '') || '0.0.0';
}

export function refuseRootLaunch(ctx: Context): void {
  if (ctx.uid !== 0) return;
  throw new UserError('launch refuses to run as root.', {
    hint: 'The validator, its PM2 daemon, its env files and the auto-update timer belong to the operator\'s own user; as root they would land in root\'s PM2 and home. Run it as that user, e.g. `sudo -iu <user> alphacore launch ...` or log in as them.',
  });
}

/** Parses and validates relaunch flags without touching anything (the update's preflight). */
export async function resolveRelaunch(ctx: Context, argv: string[] | LaunchArgs, repoDir: string): Promise<LaunchOptions> {
  refuseRootLaunch(ctx);
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

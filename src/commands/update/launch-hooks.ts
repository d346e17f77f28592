import { readIfExists } from '../../adapters/files.js';
import type { Context } from '../../core/context.js';
import { relaunchValidator, resolveRelaunch } from '../../domain/launch/relaunch.js';
import type { LaunchArgs } from '../../domain/launch/options.js';
import type { LaunchOptions } from '../../domain/launch/validate.js';
import type { DeployStep } from './plan.js';
import type { Run } from './run.js';

/** What the cycle needs from the launch module (§5 step 13): the same code, not the CLI, with the options typed at load. */
type ValidatorStep = Extract<DeployStep, { step: 'validator' }>;

const KEY = 'ALPHACORE_OPENAI_API_KEY';

/**
 * The launch code's context and options for one validator step. The launch code's
 * report lines become updater log lines (and JSON lines with --json), never raw text
 * in the middle of them.
 *
 * The OpenAI key reaches the validator the way the first launch gave it: as a line of
 * the validator env file when launch got it as a flag (the file has the line), else
 * through the process environment, as launch had it from its own. Turning an
 * environment key into a flag would add a line to the env file, and the operator's
 * next `launch` would see a changed file and restart the validator mid-round.
 */
async function prepare(run: Run, step: Pick<ValidatorStep, 'venvDir' | 'env'>): Promise<{ c: Context; a: LaunchArgs }> {
  const { ctx, config, log } = run;
  const toLog = (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) log.info(line);
  };
  const a: LaunchArgs = { ...run.relaunch, ...(step.venvDir ? { venvDir: step.venvDir } : {}) };
  const key = config.given.openaiApiKey;
  const envHasKey = Boolean(ctx.env[KEY] || ctx.env.OPENAI_API_KEY);
  const c: Context = { ...ctx, stdout: toLog, stderr: toLog, env: { ...ctx.env, ...step.env, ...(key && !envHasKey ? { [KEY]: key } : {}) } };
  if (key && !envHasKey && a.openaiApiKey === undefined) {
    const options = await resolveRelaunch(c, a, config.repoDir);
    if (new RegExp(`^${KEY}=`, 'm').test(readIfExists(options.envFile) ?? '')) return { c, a: { ...a, openaiApiKey: key } };
  }
  return { c, a };
}

/** Validates the step's launch options without starting anything (preflight); UserError on problems. */
export async function resolveValidator(run: Run, step: ValidatorStep): Promise<LaunchOptions> {
  const { c, a } = await prepare(run, step);
  return resolveRelaunch(c, a, run.config.repoDir);
}

/** The validator step: rewrites the validator env file and (re)starts it under PM2, over the run's daemon link. */
export async function relaunch(run: Run, step: ValidatorStep): Promise<void> {
  const { c, a } = await prepare(run, step);
  await relaunchValidator(c, a, run.config.repoDir, run.daemon);
}

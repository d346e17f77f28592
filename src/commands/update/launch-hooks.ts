import { readIfExists } from '../../adapters/files.js';
import type { Pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { relaunchValidator, resolveRelaunch, validatorArgsFromConfig } from '../../domain/launch/relaunch.js';
import type { LaunchArgs } from '../../domain/launch/options.js';
import type { LaunchOptions } from '../../domain/launch/validate.js';
import type { SwapVenvs } from './deploy.js';

/** What the cycle needs from the launch module (§5 step 13): the same code, not the CLI, with typed options. */
export interface LaunchHooks {
  /** Validates the config's launch options without starting anything (preflight); UserError on problems. */
  resolve(venvs?: SwapVenvs): Promise<LaunchOptions>;
  relaunch(venvs: SwapVenvs, env: Record<string, string>): Promise<void>;
}

const KEY = 'ALPHACORE_OPENAI_API_KEY';

/** `fallbackVenv`: the validator venv when a side has no prepared one and the config's is gone (session.ts). */
export function launchHooks(ctx: Context, config: AutoupdateConfig, daemon?: Pm2DaemonLink, fallbackVenv?: string): LaunchHooks {
  let typed: Promise<LaunchArgs> | undefined;
  const args = () => (typed ??= validatorArgsFromConfig(config));

  /**
   * The OpenAI key reaches the validator the way the first launch gave it: as a line of
   * the validator env file when launch got it as a flag (the file has the line), else
   * through the process environment, as launch had it from its own. Turning an
   * environment key into a flag would add a line to the env file, and the operator's
   * next `launch` would see a changed file and restart the validator mid-round.
   */
  const prepare = async (venvs: SwapVenvs = {}, env: Record<string, string> = {}): Promise<{ c: Context; a: LaunchArgs }> => {
    const base = await args();
    const venvDir = venvs.validator ?? fallbackVenv;
    const a: LaunchArgs = { ...base, ...(venvDir ? { venvDir } : {}) };
    const key = config.values[KEY];
    const envHasKey = Boolean(ctx.env[KEY] || ctx.env.OPENAI_API_KEY);
    const c: Context = { ...ctx, env: { ...ctx.env, ...env, ...(key && !envHasKey ? { [KEY]: key } : {}) } };
    if (key && !envHasKey && a.openaiApiKey === undefined) {
      const options = await resolveRelaunch(c, a, config.repoDir);
      if (new RegExp(`^${KEY}=`, 'm').test(readIfExists(options.envFile) ?? '')) return { c, a: { ...a, openaiApiKey: key } };
    }
    return { c, a };
  };
  return {
    resolve: async (venvs) => {
      const { c, a } = await prepare(venvs);
      return resolveRelaunch(c, a, config.repoDir);
    },
    relaunch: async (venvs, env) => {
      const { c, a } = await prepare(venvs, env);
      await relaunchValidator(c, a, config.repoDir, daemon);
    },
  };
}

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
   * The OpenAI key reaches the validator as a line of its env file (0600), whether
   * launch got it as a flag or from its environment: never through PM2's environment,
   * which PM2 keeps in dump.pm2 (DESIGN.md §5.7). The config's key stands in for the
   * one launch had; the file comes out as launch wrote it, so the operator's next
   * `launch` sees no change and leaves the validator running.
   */
  const prepare = async (venvs: SwapVenvs = {}, env: Record<string, string> = {}): Promise<{ c: Context; a: LaunchArgs }> => {
    const base = await args();
    const venvDir = venvs.validator ?? fallbackVenv;
    const a: LaunchArgs = { ...base, ...(venvDir ? { venvDir } : {}) };
    const key = config.values[KEY];
    const envHasKey = Boolean(ctx.env[KEY] || ctx.env.OPENAI_API_KEY);
    const c: Context = { ...ctx, env: { ...ctx.env, ...env } };
    if (!key || envHasKey || a.openaiApiKey !== undefined) return { c, a };
    if (!a.disableLlm) return { c, a: { ...a, openaiApiKey: key } };
    // Without the LLM launch writes the key only when it was a flag: keep the file as it is.
    const options = await resolveRelaunch(c, a, config.repoDir);
    if (new RegExp(`^${KEY}=`, 'm').test(readIfExists(options.envFile) ?? '')) return { c, a: { ...a, openaiApiKey: key } };
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

import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { relaunchValidator, resolveRelaunch, validatorArgvFromConfig } from '../launch/index.js';
import type { LaunchOptions } from '../launch/validate.js';

/** What the cycle needs from the launch module (§5 step 13): the same code, not the CLI. */
export interface LaunchHooks {
  /** The validator's launch flags: the config's keys, then VALIDATOR_EXTRA_ARGS. */
  argv: string[];
  /** Validates those flags without starting anything (preflight); UserError on problems. */
  resolve(): Promise<LaunchOptions>;
  relaunch(): Promise<void>;
}

export function launchHooks(ctx: Context, config: AutoupdateConfig): LaunchHooks {
  const argv = validatorArgvFromConfig(config);
  return {
    argv,
    resolve: () => resolveRelaunch(ctx, argv, config.repoDir),
    relaunch: () => relaunchValidator(ctx, argv, config.repoDir),
  };
}

import type { AutoupdateConfig } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import type { LaunchArgs } from './options.js';

/**
 * The launch flags that relaunch a validator the way its config says (DESIGN.md §5
 * step 13): the config's own keys as flags, then the words of VALIDATOR_EXTRA_ARGS
 * (later flags win). Raw values, so the env file comes out byte-identical.
 * Kept for printing and tests; the update cycle passes typed options (relaunchArgs).
 */
export function validatorArgvFromConfig(config: AutoupdateConfig): string[] {
  const g = config.given;
  const argv = ['--wallet-name', config.walletName, '--hotkey', config.walletHotkey, '--netuid', config.netuid, '--network', config.network, '--pm2-namespace', config.namespace];
  const flag = (name: string, value: string | undefined) => {
    if (value) argv.push(`--${name}`, value);
  };
  flag('validation-api-endpoint', g.validationApiEndpoint);
  flag('gcp-creds-file', config.gcpCredsFile);
  flag('process-name', g.validatorProcessName);
  flag('env-out', g.validatorEnvFile);
  flag('http-port', g.validatorHttpPort);
  flag('wallet-path', g.walletPath);
  flag('venv-dir', g.validatorVenvDir);
  flag('chain-endpoint', g.chainEndpoint);
  flag('profile', g.profile);
  flag('round-lockfile', config.roundLockfile);
  flag('openai-api-key', g.openaiApiKey);
  return [...argv, ...config.validatorExtraArgs];
}

/** Flags of VALIDATOR_EXTRA_ARGS that belong to launch's own run, not to the validator: never taken over. */
const RUN_ONLY = new Set(['autoupdate', 'dryRun', 'register', 'json', 'pm2Logrotate']);

/**
 * Typed launch options from the config, built once when the update loads it (no argv
 * built and re-parsed). Only the words of VALIDATOR_EXTRA_ARGS are argv by nature:
 * they are parsed here, once, and win over the config's keys as later flags would; a
 * word launch does not know, or a flag given no value, is a config error (exit 2),
 * reported at load like every other bad key. The OpenAI key is not a flag here: the
 * relaunch hands it over the way the first launch got it (update/launch-hooks.ts).
 */
export async function relaunchArgs(config: AutoupdateConfig): Promise<LaunchArgs> {
  const g = config.given;
  const base: LaunchArgs = {
    walletName: config.walletName,
    hotkey: config.walletHotkey,
    netuid: config.netuid,
    network: config.network,
    pm2Namespace: config.namespace,
    validationApiEndpoint: g.validationApiEndpoint,
    gcpCredsFile: config.gcpCredsFile,
    processName: g.validatorProcessName,
    envOut: g.validatorEnvFile,
    httpPort: g.validatorHttpPort,
    walletPath: g.walletPath,
    venvDir: g.validatorVenvDir,
    chainEndpoint: g.chainEndpoint,
    profile: g.profile,
    roundLockfile: config.roundLockfile,
    disableValidationApi: false,
    autoupdate: false,
    enableLinger: false,
    disableLlm: false,
    allowLlmFallback: false,
    register: false,
    yes: false,
    timed: false,
    dryRun: false,
    replace: false,
    json: false,
    pm2Logrotate: false,
    unknown: [],
  };
  if (config.validatorExtraArgs.length === 0) return base;
  const where = `VALIDATOR_EXTRA_ARGS in ${config.file}`;
  let extra: LaunchArgs;
  try {
    // Loaded only for a config with extra words: the timer's no-op run never reads yargs.
    const { parseLaunchArgv } = await import('./options.js');
    extra = await parseLaunchArgv(config.validatorExtraArgs);
  } catch (error) {
    throw new UserError(`${where}: ${(error as Error).message}`, { hint: 'Its words are launch flags (alphacore launch --help); fix or remove them.' });
  }
  const problems = [
    ...extra.unknown.map((word) => `${where}: ${word} is not a launch flag; the validator would be relaunched without it. Remove it or spell it as alphacore launch --help does.`),
    ...(extra.usage?.problems ?? []).map((problem) => `${where}: ${problem}`),
  ];
  if (problems.length > 0) {
    throw new UserError(`Invalid auto-update config ${config.file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems, hint: 'Fix VALIDATOR_EXTRA_ARGS in the file (or the environment variable of the same name) and run again.' });
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (key === 'unknown' || key === 'usage' || RUN_ONLY.has(key)) continue;
    else if (typeof value === 'boolean') merged[key] = value || Boolean(merged[key]);
    else if (value !== undefined) merged[key] = value;
  }
  return merged as unknown as LaunchArgs;
}

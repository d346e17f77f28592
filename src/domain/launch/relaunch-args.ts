import type { AutoupdateConfig } from '../../core/config.js';
import { parseLaunchArgv, type LaunchArgs } from './options.js';

/**
 * The launch flags that relaunch a validator the way its config says (DESIGN.md §5
 * step 13): the config's own keys as flags, then the words of VALIDATOR_EXTRA_ARGS
 * (later flags win). Raw values, so the env file comes out byte-identical.
 * Kept for printing and tests; the update cycle passes typed options (validatorArgsFromConfig).
 */
export function validatorArgvFromConfig(config: AutoupdateConfig): string[] {
  const v = config.values;
  const argv = ['--wallet-name', config.walletName, '--hotkey', config.walletHotkey, '--netuid', config.netuid, '--network', config.network, '--pm2-namespace', config.namespace];
  const flag = (name: string, value: string | undefined) => {
    if (value) argv.push(`--${name}`, value);
  };
  flag('validation-api-endpoint', v.VALIDATION_API_ENDPOINT);
  flag('gcp-creds-file', config.gcpCredsFile);
  flag('process-name', v.VALIDATOR_PROCESS_NAME);
  flag('env-out', v.VALIDATOR_ENV_FILE);
  flag('http-port', v.VALIDATOR_HTTP_PORT);
  flag('wallet-path', v.WALLET_PATH);
  flag('venv-dir', v.VALIDATOR_VENV_DIR);
  flag('chain-endpoint', v.CHAIN_ENDPOINT);
  flag('profile', v.PROFILE);
  flag('round-lockfile', config.roundLockfile);
  flag('openai-api-key', v.ALPHACORE_OPENAI_API_KEY);
  return [...argv, ...config.validatorExtraArgs];
}

/**
 * Typed launch options from the config (no argv built and re-parsed). Only the words
 * of VALIDATOR_EXTRA_ARGS are argv by nature: they are parsed once, here, and win over
 * the config's keys as later flags would. The OpenAI key is not a flag here: the
 * relaunch hands it over the way the first launch got it (update/launch-hooks.ts).
 */
export async function validatorArgsFromConfig(config: AutoupdateConfig): Promise<LaunchArgs> {
  const v = config.values;
  const base: LaunchArgs = {
    walletName: config.walletName,
    hotkey: config.walletHotkey,
    netuid: config.netuid,
    network: config.network,
    pm2Namespace: config.namespace,
    validationApiEndpoint: v.VALIDATION_API_ENDPOINT || undefined,
    gcpCredsFile: config.gcpCredsFile,
    processName: v.VALIDATOR_PROCESS_NAME || undefined,
    envOut: v.VALIDATOR_ENV_FILE || undefined,
    httpPort: v.VALIDATOR_HTTP_PORT || undefined,
    walletPath: v.WALLET_PATH || undefined,
    venvDir: v.VALIDATOR_VENV_DIR || undefined,
    chainEndpoint: v.CHAIN_ENDPOINT || undefined,
    profile: v.PROFILE || undefined,
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
  const extra = await parseLaunchArgv(config.validatorExtraArgs);
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (key === 'unknown') merged.unknown = value;
    else if (key === 'autoupdate' || key === 'dryRun' || key === 'register' || key === 'json' || key === 'pm2Logrotate') continue;
    else if (typeof value === 'boolean') merged[key] = value || Boolean(merged[key]);
    else if (value !== undefined) merged[key] = value;
  }
  return merged as unknown as LaunchArgs;
}

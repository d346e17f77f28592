import type { AutoupdateConfig } from '../../core/config.js';

/**
 * The launch flags that relaunch a validator the way its config says (DESIGN.md §5
 * step 13): the config's own keys as flags, then the words of VALIDATOR_EXTRA_ARGS
 * (later flags win). Raw values, so the env file comes out byte-identical.
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
  // The timer's environment has no OpenAI key: the config's key travels as the flag.
  flag('openai-api-key', v.ALPHACORE_OPENAI_API_KEY);
  return [...argv, ...config.validatorExtraArgs];
}

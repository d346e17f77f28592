import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { makePaths } from '../../src/core/context.js';
import { UserError } from '../../src/core/errors.js';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { relaunchArgs, validatorArgvFromConfig } from '../../src/domain/launch/relaunch-args.js';
import { tempDir } from '../helpers/tmp.js';

function config(lines: string[]) {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'repo', '.git'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'creds.json'), '{}');
  const file = path.join(dir, 'alphacore.env');
  const base = ['NETWORK=finney', 'WALLET_NAME=wallet', 'WALLET_HOTKEY=hot', 'NETUID=66', `GCP_CREDS_FILE=${dir}/creds.json`, `REPO_DIR=${dir}/repo`];
  fs.writeFileSync(file, [...base, ...lines].join('\n'));
  const env = { HOME: path.join(dir, 'home') };
  return loadConfig(file, env, {}, makePaths(env));
}

describe('the relaunch options, typed once when the update loads its config', () => {
  it('are the options launch would parse from the config as flags (the key aside), without building an argv', async () => {
    const c = config(['VALIDATOR_PROCESS_NAME=my-validator', 'VALIDATOR_HTTP_PORT=8001', 'PROFILE=testing', "VALIDATOR_EXTRA_ARGS='--disable-llm --tick-seconds 60 --http-port 8002'"]);
    const typed = await relaunchArgs(c);
    const parsed = await parseLaunchArgv(validatorArgvFromConfig(c));
    for (const key of ['walletName', 'hotkey', 'netuid', 'network', 'pm2Namespace', 'processName', 'profile', 'roundLockfile', 'disableLlm', 'tickSeconds', 'gcpCredsFile'] as const) {
      expect(typed[key], key).toEqual(parsed[key]);
    }
    // Later words win over the config's own key, as later flags would.
    expect(typed.httpPort).toBe('8002');
    expect(typed).toMatchObject({ processName: 'my-validator', disableLlm: true, tickSeconds: '60', autoupdate: false, unknown: [] });
  });

  it('a word of VALIDATOR_EXTRA_ARGS launch does not know is a config error at load, naming the key and the word', async () => {
    const c = config(["VALIDATOR_EXTRA_ARGS='--disable-llm --tick-secnds 60'"]);
    const error = await relaunchArgs(c).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).problems.join('\n')).toMatch(/VALIDATOR_EXTRA_ARGS in .*alphacore\.env: --tick-secnds is not a launch flag/);
  });

  it('without extra words, no parser is involved: the keys as set, nothing more', async () => {
    const typed = await relaunchArgs(config([]));
    expect(typed).toMatchObject({ walletName: 'wallet', hotkey: 'hot', netuid: '66', network: 'finney', pm2Namespace: 'alphacore', processName: undefined, unknown: [] });
  });
});

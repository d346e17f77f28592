import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { makePaths } from '../../src/core/context.js';
import { parseEnvFile, splitWords } from '../../src/core/envfile.js';
import { validatorArgvFromConfig } from '../../src/domain/launch/relaunch-args.js';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { planLaunch, renderValidatorEnv, validatorApp, validatorExtraArgs } from '../../src/domain/launch/plan.js';
import { resolveLaunchOptions } from '../../src/domain/launch/validate.js';
import { renderDryRun } from '../../src/domain/launch/print.js';
import { launchUnitWorld } from '../helpers/launch-unit-world.js';
import { createWallet } from '../helpers/wallet.js';

function world() {
  const w = launchUnitWorld('alphacore-launch-plan-');
  return { ...w, facts: w.factsFor };
}

const BASE = ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '66', '--network', 'finney'];

describe('validator env file (DESIGN.md §4.1)', () => {
  it('defaults: every key in order, KEY="value"', async () => {
    const w = world();
    const o = resolveLaunchOptions(await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds]), w.facts({ OPENAI_API_KEY: 'sk-env' }));
    expect(renderValidatorEnv(o, '1.4.2')).toBe(
      [
        '# Written by `alphacore launch` (rewritten on every launch and update; edit the flags, not this file).',
        'ALPHACORE_ENV="testing"',
        'ALPHACORE_NETWORK="finney"',
        'BT_NETWORK="finney"',
        'ALPHACORE_CHAIN_ENDPOINT="wss://finney.opentensor.io:443"',
        'ALPHACORE_NETUID="66"',
        'ALPHACORE_WALLET_NAME="cold"',
        'ALPHACORE_WALLET_HOTKEY="hot"',
        `BT_WALLET_PATH="${w.home}/.bittensor/wallets"`,
        `ALPHACORE_WALLET_PATH="${w.home}/.bittensor/wallets"`,
        'ALPHACORE_HTTP_HOST="0.0.0.0"',
        'ALPHACORE_HTTP_PORT="8000"',
        `ALPHACORE_CONFIG="${w.repo}/modules/task_config.yaml"`,
        'ALPHACORE_VALIDATOR_SA="val@proj.iam.gserviceaccount.com"',
        'ALPHACORE_VALIDATOR_VERSION="1.4.2"',
        'ALPHACORE_BT_LOGGING_LEVEL="info"',
        'ALPHACORE_VALIDATION_API_ENABLED="true"',
        'ALPHACORE_VALIDATION_API_ENDPOINT="http://127.0.0.1:8888"',
        'ALPHACORE_FAIL_FAST_ON_VALIDATION_API="true"',
        'ALPHACORE_LOCAL_TEST_MODE="false"',
        'ALPHACORE_LOCAL_MINERS_FALLBACK="false"',
        'ALPHACORE_MINER_CONCURRENCY="128"',
        'ALPHACORE_MINER_RESPONSE_TIMEOUT_SECONDS="10"',
        'ALPHACORE_TASK_SYNAPSE_TIMEOUT_SECONDS="600"',
        'ALPHACORE_DISPATCH_PROGRESS_LOG_INTERVAL_S="30"',
        'ALPHACORE_PRE_GENERATED_TASKS="0"',
        'ALPHACORE_ENABLE_LLM="true"',
        'ALPHACORE_LLM_FALLBACK="false"',
        'ALPHACORE_PROMPT_POSTPROCESS="none"',
        'ALPHACORE_LOOP_MODE="timed"',
        'ALPHACORE_TICK_SECONDS="1200"',
        'ALPHACORE_EPOCH_SLOTS="4"',
        `ALPHACORE_ROUND_LOCKFILE="${w.home}/.local/state/alphacore/autoupdate/alphacore.round.lock"`,
        '',
      ].join('\n'),
    );
  });

  it('every optional key, flag by flag (local network)', async () => {
    const w = world();
    createWallet(path.join(w.root, 'w'), 'c', ['h']);
    const o = resolveLaunchOptions(
      await parseLaunchArgv([
        '--wallet-name', 'c', '--hotkey', 'h', '--netuid', '2', '--network', 'local', '--validator-sa', 'x@y.iam.gserviceaccount.com', '--no-autoupdate',
        '--disable-validation-api', '--disable-llm', '--allow-llm-fallback', '--prompt-postprocess', 'minimal', '--tick-seconds', '600',
        '--validator.epoch_slots', '3', '--epoch-slot-index', '1', '--validator.weights_min_tasks_before_emit', '5', '--openai-api-key', 'sk-"$x`',
        '--http-port', '8123', '--wallet-path', path.join(w.root, 'w'), '--validation-api-endpoint', 'https://api.example:9/',
      ]),
      w.facts(),
    );
    const text = renderValidatorEnv(o, '0.0.0');
    const lines = text.split('\n');
    const get = (k: string) => lines.find((l) => l.startsWith(`${k}=`));
    expect(get('ALPHACORE_ENV')).toBe('ALPHACORE_ENV="local"');
    expect(get('ALPHACORE_CHAIN_ENDPOINT')).toBe('ALPHACORE_CHAIN_ENDPOINT="ws://127.0.0.1:9944"');
    expect(get('BT_WALLET_PATH')).toBe(`BT_WALLET_PATH="${path.join(w.root, 'w')}"`);
    expect(get('ALPHACORE_HTTP_PORT')).toBe('ALPHACORE_HTTP_PORT="8123"');
    expect(get('ALPHACORE_VALIDATOR_VERSION')).toBe('ALPHACORE_VALIDATOR_VERSION="0.0.0"');
    expect(get('ALPHACORE_VALIDATION_API_ENABLED')).toBe('ALPHACORE_VALIDATION_API_ENABLED="false"');
    expect(get('ALPHACORE_VALIDATION_API_ENDPOINT')).toBe('ALPHACORE_VALIDATION_API_ENDPOINT="https://api.example:9/"');
    expect(get('ALPHACORE_ENABLE_LLM')).toBe('ALPHACORE_ENABLE_LLM="false"');
    expect(get('ALPHACORE_LLM_FALLBACK')).toBe('ALPHACORE_LLM_FALLBACK="true"');
    expect(get('ALPHACORE_PROMPT_POSTPROCESS')).toBe('ALPHACORE_PROMPT_POSTPROCESS="minimal"');
    expect(get('ALPHACORE_TICK_SECONDS')).toBe('ALPHACORE_TICK_SECONDS="600"');
    // The optional keys come last, in the table's order.
    expect(lines.slice(-8, -3)).toEqual([
      'ALPHACORE_LOOP_MODE="timed"',
      'ALPHACORE_TICK_SECONDS="600"',
      'ALPHACORE_EPOCH_SLOTS="3"',
      'ALPHACORE_EPOCH_SLOT_INDEX="1"',
      'ALPHACORE_WEIGHTS_MIN_TASKS_BEFORE_EMIT="5"',
    ]);
    expect(lines.at(-3)).toBe('ALPHACORE_OPENAI_API_KEY="sk-\\"\\$x\\`"');
    expect(lines.at(-2)).toBe(`ALPHACORE_ROUND_LOCKFILE="${w.home}/.local/state/alphacore/autoupdate/alphacore.round.lock"`);
    // A shell reads back exactly the values (hostile key included).
    const file = path.join(w.root, 'v.env');
    fs.writeFileSync(file, text);
    const sourced = execFileSync('bash', ['-c', 'set -a; source "$1"; printf "%s\\n%s\\n" "$ALPHACORE_OPENAI_API_KEY" "$ALPHACORE_EPOCH_SLOT_INDEX"', '_', file], { encoding: 'utf8' });
    expect(sourced).toBe('sk-"$x`\n1\n');
    // And the toolkit's own parser agrees.
    expect(parseEnvFile(text, { source: file }).find((e) => e.key === 'ALPHACORE_OPENAI_API_KEY')?.value).toBe('sk-"$x`');
  });

  it('the key from the environment is not written to the env file', async () => {
    const w = world();
    const o = resolveLaunchOptions(await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds]), w.facts({ ALPHACORE_OPENAI_API_KEY: 'sk-env' }));
    expect(renderValidatorEnv(o, '1')).not.toContain('OPENAI');
  });
});

describe('auto-update config', () => {
  it('extra args keep what the bash version lost (--disable-llm) and split back into separate words', async () => {
    const w = world();
    const o = resolveLaunchOptions(
      await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds, '--disable-llm', '--validator-sa', "o'brien@p.iam.gserviceaccount.com", '--prompt-postprocess', 'full', '--epoch-slots', '2']),
      w.facts(),
    );
    const words = validatorExtraArgs(o);
    expect(words).toEqual(['--validator-sa', "o'brien@p.iam.gserviceaccount.com", '--disable-llm', '--prompt-postprocess', 'full', '--epoch-slots', '2']);
    const plan = planLaunch(o, { version: '1', autoupdateConfigPath: path.join(w.root, 'cfg', 'alphacore.env'), keptConfigEntries: [] });
    const entry = parseEnvFile(plan.autoupdateConfig!.content, { source: 'cfg' }).find((e) => e.key === 'VALIDATOR_EXTRA_ARGS')!;
    expect(splitWords(entry.value, 'VALIDATOR_EXTRA_ARGS')).toEqual(words);
  });

  it('round-trips through loadConfig, and relaunching from it gives the same env file and PM2 app', async () => {
    const w = world();
    createWallet(path.join(w.root, 'wal lets'), 'cold', ['hot']);
    const flags = [
      ...BASE, '--gcp-creds-file', w.creds, '--pm2-namespace', 'ns-1', '--process-name', 'my-validator', '--env-out', path.join(w.root, 'env dir', 'v.env'),
      '--http-port', '8111', '--wallet-path', path.join(w.root, 'wal lets'), '--venv-dir', path.join(w.root, 'venv'), '--profile', 'production',
      '--chain-endpoint', 'wss://lite.example:443', '--validation-api-endpoint', 'http://127.0.0.1:9999', '--openai-api-key', 'sk-flag',
      '--allow-llm-fallback', '--timed', '--tick-seconds', '900', '--epoch-slot-index', '3', '--weights-min-tasks-before-emit', '0', '--round-lockfile', path.join(w.root, 'round.lock'),
    ];
    const first = resolveLaunchOptions(await parseLaunchArgv(flags), w.facts());
    const configPath = path.join(w.root, 'config', 'ns-1.env');
    const plan = planLaunch(first, { version: '2.0.0', autoupdateConfigPath: configPath, keptConfigEntries: [['NOTIFY_WEBHOOK_URL', 'https://hooks.example/x']] });
    fs.mkdirSync(path.dirname(configPath));
    fs.writeFileSync(configPath, plan.autoupdateConfig!.content);
    const config = loadConfig(configPath, {}, {}, makePaths({ HOME: w.home }));
    expect(config).toMatchObject({ namespace: 'ns-1', network: 'finney', walletName: 'cold', walletHotkey: 'hot', netuid: '66', gcpCredsFile: w.creds, repoDir: w.repo, validatorProcessName: 'my-validator', roundLockfile: path.join(w.root, 'round.lock'), notifyWebhookUrl: 'https://hooks.example/x' });
    const again = resolveLaunchOptions(await parseLaunchArgv(validatorArgvFromConfig(config)), w.facts(), 'relaunch');
    const replan = planLaunch(again, { version: '2.0.0', autoupdateConfigPath: configPath, keptConfigEntries: [['NOTIFY_WEBHOOK_URL', 'https://hooks.example/x']] });
    expect(replan.envFile).toEqual(plan.envFile);
    expect(validatorApp(again)).toEqual(validatorApp(first));
    // Even the config itself would come out the same.
    expect(replan.autoupdateConfig!.content).toBe(plan.autoupdateConfig!.content);
  });

  it('dry-run shows every path and masks the key everywhere', async () => {
    const w = world();
    const o = resolveLaunchOptions(await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds, '--openai-api-key', 'sk-very-secret', '--dry-run']), w.facts());
    const plan = planLaunch(o, { version: '1', autoupdateConfigPath: '/cfg/alphacore.env', keptConfigEntries: [] });
    const text = renderDryRun(plan, { venv: { kind: 'present' }, pm2: { ok: true, detail: 'pm2 7' }, current: () => undefined, scheduler: { error: 'not built' } });
    expect(text).not.toContain('sk-very-secret');
    expect(text).toContain('ALPHACORE_OPENAI_API_KEY="***"');
    expect(text).toContain('ALPHACORE_OPENAI_API_KEY=***');
    for (const p of [o.envFile, '/cfg/alphacore.env', `${w.repo}/scripts/validator/process/start_validator_pm2.sh`]) expect(text).toContain(p);
    expect(text).toMatch(/pm2 start .* --name validator-hot-finney --namespace alphacore --interpreter \/bin\/bash/);
  });
});

describe('the validator PM2 app (DESIGN.md §4, §10: as launch_pm2.sh starts it)', () => {
  const ECOSYSTEM = "  env: {\n    ENTRYPOINT: process.env.ENTRYPOINT || 'scripts/start_validator.py',\n";

  it('reads the entry point the ecosystem file defaults to', async () => {
    const { ecosystemEntrypoint } = await import('../../src/domain/launch/plan.js');
    expect(ecosystemEntrypoint(ECOSYSTEM)).toBe('scripts/start_validator.py');
    expect(ecosystemEntrypoint(ECOSYSTEM.replace('scripts/start_validator.py', 'neurons/validator.py'))).toBe('neurons/validator.py');
    expect(ecosystemEntrypoint('module.exports = {}')).toBe('scripts/start_validator.py');
  });

  it('through the ecosystem file: the env launch_pm2.sh passes plus ALPHACORE_ROUND_LOCKFILE; pm2 start <file> --name N --update-env', async () => {
    const w = world();
    const { pm2StartArgs } = await import('../../src/adapters/pm2.js');
    const o = resolveLaunchOptions(await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds, '--disable-llm', '--round-lockfile', '/r/x.lock']), w.facts());
    const file = path.join(w.repo, 'scripts/validator/process/pm2.config.js');
    const app = validatorApp(o, { file, defaultEntrypoint: 'scripts/start_validator.py' });
    expect(app.env).toEqual({
      PROCESS_NAME: 'validator-hot-finney',
      PM2_NAMESPACE: 'alphacore',
      ENV_FILE: path.join(w.repo, 'env/finney/validator-cold-hot.env'),
      VENV_DIR: path.join(w.repo, 'venv'),
      LOG_DIR: path.join(w.repo, 'logs/pm2'),
      ENTRYPOINT: 'scripts/start_validator.py',
      ALPHACORE_ROUND_LOCKFILE: '/r/x.lock',
    });
    expect(pm2StartArgs(app)).toEqual(['start', file, '--name', 'validator-hot-finney', '--update-env']);
    // Without the file: the wrapper directly, with the file's restart policy and log files.
    expect(pm2StartArgs({ ...app, ecosystem: undefined })).toEqual([
      'start', path.join(w.repo, 'scripts/validator/process/start_validator_pm2.sh'), '--name', 'validator-hot-finney', '--namespace', 'alphacore',
      '--interpreter', '/bin/bash', '--cwd', w.repo, '--max-restarts', '10', '--restart-delay', '5000',
      '--output', path.join(w.repo, 'logs/pm2/validator-hot-finney.out.log'), '--error', path.join(w.repo, 'logs/pm2/validator-hot-finney.error.log'),
      '--merge-logs', '--log-date-format', 'YYYY-MM-DD HH:mm:ss Z', '--force',
    ]);
  });

  it('--entrypoint overrides the default and travels to the relaunch; a missing one is refused', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.repo, 'neurons'));
    fs.writeFileSync(path.join(w.repo, 'neurons/validator.py'), '\n');
    const o = resolveLaunchOptions(await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds, '--disable-llm', '--entrypoint', 'neurons/validator.py']), w.facts());
    expect(validatorApp(o, { file: 'f', defaultEntrypoint: 'scripts/start_validator.py' }).env.ENTRYPOINT).toBe('neurons/validator.py');
    expect(validatorExtraArgs(o)).toContain('--entrypoint');
    const bad = parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds, '--disable-llm', '--entrypoint', 'nope.py']);
    await expect((async () => resolveLaunchOptions(await bad, w.facts()))()).rejects.toThrow(/--entrypoint nope.py: no such file in the deploy clone/);
  });
});

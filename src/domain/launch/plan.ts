import path from 'node:path';
import type { Pm2App, Pm2Policy } from '../../adapters/pm2.js';
import { doubleQuote, joinWords, serializeEnvFile, shellQuote } from '../../core/envfile.js';
import type { SchedulerRequest } from '../../scheduler/index.js';
import type { LaunchHealth } from './health.js';
import type { LaunchOptions } from './validate.js';

/** A file launch writes: its full content and modes. */
export interface PlannedFile {
  path: string;
  content: string;
  mode: number;
  dirMode: number;
}

/** Everything launch will do, computed without side effects (STYLE.md: plan, then apply). */
export interface LaunchPlan {
  purpose: 'launch' | 'relaunch';
  options: LaunchOptions;
  envFile: PlannedFile;
  pm2App: Pm2App;
  /** <venv>/bin/activate: what the wrapper sources. */
  venvActivate: string;
  autoupdateConfig?: PlannedFile;
  scheduler?: SchedulerRequest;
  /** btcli argv when --register. */
  register?: string[];
  /** Values never printed. */
  secrets: string[];
  /** launch waits for a healthy validator (the update checks after its relaunch itself). */
  health?: LaunchHealth;
}

/** Observed besides the options: the repo's VERSION, the auto-update config path and its current text. */
export interface PlanInputs {
  version: string;
  autoupdateConfigPath: string;
  /** Keys of an existing auto-update config that launch does not manage (kept, in their order). */
  keptConfigEntries: [string, string][];
  /** The repo's validator ecosystem file, when the clone has one (DESIGN.md §4, §10). */
  ecosystem?: Ecosystem;
  /** How long launch waits for health (launch only). */
  health?: LaunchHealth;
}

/** The repo's scripts/validator/process/pm2.config.js and the entry point it defaults to. */
export interface Ecosystem {
  file: string;
  defaultEntrypoint: string;
}

export const ECOSYSTEM_FILE = 'scripts/validator/process/pm2.config.js';
export const VALIDATOR_WRAPPER = 'scripts/validator/process/start_validator_pm2.sh';
/** pm2.config.js's and launch_pm2.sh's default: the validator plus the task-generation API. */
export const DEFAULT_ENTRYPOINT = 'scripts/start_validator.py';

/** The entry point an ecosystem file defaults to (`process.env.ENTRYPOINT || '...'`), else ours. */
export function ecosystemEntrypoint(text: string): string {
  return /process\.env\.ENTRYPOINT\s*\|\|\s*(['"])([^'"]+)\1/.exec(text)?.[2] ?? DEFAULT_ENTRYPOINT;
}

/** The validator env file, key by key as DESIGN.md §4.1 (and the bash launcher) has it. */
export function renderValidatorEnv(o: LaunchOptions, version: string): string {
  const rows: [string, string][] = [
    ['ALPHACORE_ENV', o.profile],
    ['ALPHACORE_NETWORK', o.network],
    ['BT_NETWORK', o.network],
    ['ALPHACORE_CHAIN_ENDPOINT', o.chainEndpoint],
    ['ALPHACORE_NETUID', o.netuid],
    ['ALPHACORE_WALLET_NAME', o.walletName],
    ['ALPHACORE_WALLET_HOTKEY', o.hotkey],
    ['BT_WALLET_PATH', o.walletPath],
    ['ALPHACORE_WALLET_PATH', o.walletPath],
    ['ALPHACORE_HTTP_HOST', '0.0.0.0'],
    ['ALPHACORE_HTTP_PORT', o.httpPort],
    ['ALPHACORE_CONFIG', path.join(o.repoDir, 'modules', 'task_config.yaml')],
    ['ALPHACORE_VALIDATOR_SA', o.validatorSa],
    ['ALPHACORE_VALIDATOR_VERSION', version],
    ['ALPHACORE_BT_LOGGING_LEVEL', 'info'],
    ['ALPHACORE_VALIDATION_API_ENABLED', String(o.validationApiEnabled)],
    ['ALPHACORE_VALIDATION_API_ENDPOINT', o.validationApiEndpoint],
    ['ALPHACORE_FAIL_FAST_ON_VALIDATION_API', 'true'],
    ['ALPHACORE_LOCAL_TEST_MODE', 'false'],
    ['ALPHACORE_LOCAL_MINERS_FALLBACK', 'false'],
    ['ALPHACORE_MINER_CONCURRENCY', '128'],
    ['ALPHACORE_MINER_RESPONSE_TIMEOUT_SECONDS', '10'],
    ['ALPHACORE_TASK_SYNAPSE_TIMEOUT_SECONDS', '600'],
    ['ALPHACORE_DISPATCH_PROGRESS_LOG_INTERVAL_S', '30'],
    ['ALPHACORE_PRE_GENERATED_TASKS', '0'],
    ['ALPHACORE_ENABLE_LLM', String(o.enableLlm)],
    ['ALPHACORE_LLM_FALLBACK', String(o.llmFallback)],
    ['ALPHACORE_PROMPT_POSTPROCESS', o.promptPostprocess],
    ['ALPHACORE_LOOP_MODE', 'timed'],
    ['ALPHACORE_TICK_SECONDS', o.tickSeconds],
    ['ALPHACORE_EPOCH_SLOTS', o.epochSlots],
  ];
  if (o.epochSlotIndex !== undefined) rows.push(['ALPHACORE_EPOCH_SLOT_INDEX', o.epochSlotIndex]);
  if (o.weightsMinTasksBeforeEmit !== undefined) rows.push(['ALPHACORE_WEIGHTS_MIN_TASKS_BEFORE_EMIT', o.weightsMinTasksBeforeEmit]);
  if (o.openaiApiKeyFlag !== undefined) rows.push(['ALPHACORE_OPENAI_API_KEY', o.openaiApiKeyFlag]);
  // Not written by the bash launcher: the validator reads it (default /tmp/...), and the
  // updater watches the same file (DESIGN.md §3).
  rows.push(['ALPHACORE_ROUND_LOCKFILE', o.roundLockfile]);
  // No timestamp in the header: the same flags must give a byte-identical file.
  const header = '# Written by `alphacore launch` (rewritten on every launch and update; edit the flags, not this file).\n';
  return header + rows.map(([k, v]) => `${k}=${doubleQuote(v)}\n`).join('');
}

/**
 * The launch flags, beyond the config's own keys, that relaunch the validator the same
 * way (DESIGN.md §4.1). Unlike the bash launcher's, this keeps --disable-llm and friends.
 */
export function validatorExtraArgs(o: LaunchOptions): string[] {
  const words: string[] = [];
  // Inferred from the creds file: re-infer on relaunch, so a replaced key file wins.
  if (o.validatorSaSource !== 'creds') words.push('--validator-sa', o.validatorSa);
  if (!o.validationApiEnabled) words.push('--disable-validation-api');
  if (!o.enableLlm) words.push('--disable-llm');
  if (o.llmFallback) words.push('--allow-llm-fallback');
  if (o.promptPostprocess !== 'none') words.push('--prompt-postprocess', o.promptPostprocess);
  if (o.timed) words.push('--timed');
  if (o.tickSecondsGiven) words.push('--tick-seconds', o.tickSeconds);
  if (o.epochSlotsGiven) words.push('--epoch-slots', o.epochSlots);
  if (o.epochSlotIndex !== undefined) words.push('--epoch-slot-index', o.epochSlotIndex);
  if (o.weightsMinTasksBeforeEmit !== undefined) words.push('--weights-min-tasks-before-emit', o.weightsMinTasksBeforeEmit);
  if (o.entrypoint !== undefined) words.push('--entrypoint', o.entrypoint);
  return words;
}

/** Config keys launch owns: rewritten (or dropped) on every launch. Others are the operator's and kept. */
export const MANAGED_CONFIG_KEYS = [
  'NETWORK', 'PM2_NAMESPACE', 'WALLET_NAME', 'WALLET_HOTKEY', 'NETUID', 'GCP_CREDS_FILE', 'VALIDATION_API_ENDPOINT',
  'CHAIN_ENDPOINT', 'PROFILE', 'WALLET_PATH', 'VALIDATOR_VENV_DIR', 'VALIDATOR_PROCESS_NAME', 'VALIDATOR_ENV_FILE',
  'VALIDATOR_HTTP_PORT', 'ALPHACORE_OPENAI_API_KEY', 'VALIDATOR_ROUND_LOCKFILE', 'REPO_DIR', 'VALIDATOR_EXTRA_ARGS',
] as const;

/** The auto-update config (DESIGN.md §3, §4.1): everything `update` needs to relaunch identically. */
export function renderAutoupdateConfig(o: LaunchOptions, kept: readonly [string, string][] = []): string {
  const rows: [string, string | undefined][] = [
    ['NETWORK', o.network],
    ['PM2_NAMESPACE', o.namespace],
    ['WALLET_NAME', o.walletName],
    ['WALLET_HOTKEY', o.hotkey],
    ['NETUID', o.netuid],
    ['GCP_CREDS_FILE', o.gcpCredsFile],
    ['VALIDATION_API_ENDPOINT', o.validationApiEndpoint],
    ['CHAIN_ENDPOINT', o.chainEndpoint],
    ['PROFILE', o.profile],
    ['WALLET_PATH', o.walletPath],
    ['VALIDATOR_VENV_DIR', o.venvDir],
    ['VALIDATOR_PROCESS_NAME', o.processName],
    ['VALIDATOR_ENV_FILE', o.envFileGiven ? o.envFile : undefined],
    ['VALIDATOR_HTTP_PORT', o.httpPortGiven ? o.httpPort : undefined],
    ['ALPHACORE_OPENAI_API_KEY', o.openaiApiKey],
    ['VALIDATOR_ROUND_LOCKFILE', o.roundLockfile],
    ['REPO_DIR', o.repoDir],
  ];
  const extra = validatorExtraArgs(o);
  if (extra.length > 0) rows.push(['VALIDATOR_EXTRA_ARGS', joinWords(extra)]);
  // Written only when given: a launch without --allowed-signers keeps the operator's own keys (never drops a policy).
  rows.push(['ALLOWED_SIGNERS', o.allowedSigners], ['SIGNATURE_POLICY', o.signaturePolicy]);
  // METRICS_DIR is the operator's key (kept across launches) unless --metrics-dir sets it.
  if (o.metricsDir) rows.push(['METRICS_DIR', o.metricsDir]);
  // RESTART_POLICY likewise: the operator's choice is kept unless --restart-policy sets it.
  if (o.restartPolicy) rows.push(['RESTART_POLICY', o.restartPolicy]);
  const managed = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const written = new Set(managed.map(([k]) => k));
  const others = kept.filter(([k]) => !written.has(k));
  const header = [
    `Auto-update config for PM2 namespace ${o.namespace}, written by \`alphacore launch\`.`,
    'Parsed as KEY=VALUE, never executed. launch rewrites its own keys; keys you add below are kept.',
  ].join('\n');
  return serializeEnvFile([...managed, ...others], header);
}

/** pm2.config.js's restart policy and log files, for the direct start when there is no such file. */
export function validatorPolicy(logDir: string, name: string): Pm2Policy {
  return {
    maxRestarts: 10,
    restartDelayMs: 5000,
    outFile: path.join(logDir, `${name}.out.log`),
    errorFile: path.join(logDir, `${name}.error.log`),
    logDateFormat: 'YYYY-MM-DD HH:mm:ss Z',
  };
}

/**
 * The validator's PM2 app, as launch_pm2.sh starts it: the repo's ecosystem file with
 * env PROCESS_NAME, PM2_NAMESPACE, ENV_FILE, VENV_DIR, LOG_DIR and ENTRYPOINT (the file
 * sets the wrapper, restart policy and logs), plus ALPHACORE_ROUND_LOCKFILE. Without the
 * file, the wrapper directly with the same policy.
 */
export function validatorApp(o: LaunchOptions, ecosystem?: Ecosystem): Pm2App {
  const logDir = path.join(o.repoDir, 'logs', 'pm2');
  return {
    name: o.processName,
    namespace: o.namespace,
    script: path.join(o.repoDir, VALIDATOR_WRAPPER),
    interpreter: '/bin/bash',
    cwd: o.repoDir,
    env: {
      PROCESS_NAME: o.processName,
      PM2_NAMESPACE: o.namespace,
      ENV_FILE: o.envFile,
      VENV_DIR: o.venvDir,
      LOG_DIR: logDir,
      ENTRYPOINT: o.entrypoint ?? ecosystem?.defaultEntrypoint ?? DEFAULT_ENTRYPOINT,
      ALPHACORE_ROUND_LOCKFILE: o.roundLockfile,
    },
    ecosystem: ecosystem?.file,
    policy: validatorPolicy(logDir, o.processName),
  };
}

/** `btcli subnet register` for the wallet, hotkey, netuid and chain. */
export function registerArgv(o: LaunchOptions): string[] {
  const argv = ['subnet', 'register', '--netuid', o.netuid, '--wallet.name', o.walletName, '--wallet.hotkey', o.hotkey, '--wallet.path', o.walletPath, '--subtensor.chain_endpoint', o.chainEndpoint];
  if (o.yes) argv.push('--no-prompt');
  return argv;
}

/** A secret as it may appear in printed files: raw, escaped in double quotes, shell-quoted. */
function secretForms(secret: string | undefined): string[] {
  // Too short to mask without blanking ordinary text; real keys are long.
  if (!secret || secret.length < 4) return [];
  return [...new Set([shellQuote(secret), doubleQuote(secret).slice(1, -1), secret])];
}

export function planLaunch(o: LaunchOptions, inputs: PlanInputs, purpose: 'launch' | 'relaunch' = 'launch'): LaunchPlan {
  const withConfig = purpose === 'launch';
  const configFile: PlannedFile = { path: inputs.autoupdateConfigPath, content: renderAutoupdateConfig(o, inputs.keptConfigEntries), mode: 0o600, dirMode: 0o700 };
  return {
    purpose,
    options: o,
    health: withConfig ? inputs.health : undefined,
    envFile: { path: o.envFile, content: renderValidatorEnv(o, inputs.version), mode: 0o600, dirMode: 0o700 },
    pm2App: validatorApp(o, inputs.ecosystem),
    venvActivate: path.join(o.venvDir, 'bin', 'activate'),
    autoupdateConfig: withConfig ? configFile : undefined,
    scheduler:
      withConfig && o.autoupdate
        ? { namespace: o.namespace, configFile: inputs.autoupdateConfigPath, interval: o.autoupdateInterval, intervalFlag: '--autoupdate-interval', enableLinger: o.enableLinger, dryRun: o.dryRun }
        : undefined,
    register: withConfig && o.register ? registerArgv(o) : undefined,
    secrets: secretForms(o.openaiApiKey),
  };
}

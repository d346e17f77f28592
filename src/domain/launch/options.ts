import type { Argv, Options } from 'yargs';
import { UserError } from '../../core/errors.js';
import { typedWords, type LaunchUsage } from './flag-usage.js';

/**
 * The flags of `alphacore launch` (DESIGN.md §4), declared once for the CLI and for
 * relaunchValidator. No yargs defaults: defaults that depend on other flags or on
 * the environment are resolved in validate.ts, where precedence is explicit.
 */
export const LAUNCH_OPTIONS = {
  'wallet-name': { type: 'string', group: 'Required:', describe: 'wallet (coldkey) name' },
  hotkey: { type: 'string', group: 'Required:', describe: 'hotkey name' },
  netuid: { type: 'string', group: 'Required:', describe: 'subnet uid (integer)' },
  network: { type: 'string', group: 'Required:', describe: 'local | test | finney' },
  'chain-endpoint': { type: 'string', describe: 'ws:// or wss:// URL (default by network)' },
  profile: { type: 'string', describe: 'local | testing | production (default: local on local, else testing)' },
  'validator-sa': { type: 'string', describe: 'service account email (else ALPHACORE_VALIDATOR_SA, else client_email of --gcp-creds-file)' },
  'gcp-creds-file': { type: 'string', describe: 'service-account JSON key (also used by the updater for the Validation API)' },
  'validation-api-endpoint': { type: 'string', describe: 'http(s) URL of the Validation API (default http://127.0.0.1:8888)' },
  'disable-validation-api': { type: 'boolean', describe: 'run without the Validation API' },
  'process-name': { type: 'string', describe: 'PM2 process name (default validator-<hotkey>-<network>)' },
  'pm2-namespace': { type: 'string', describe: 'PM2 namespace (default PM2_NAMESPACE, else alphacore)' },
  'env-out': { type: 'string', describe: 'validator env file (default <repo>/env/<network>/validator-<wallet>-<hotkey>.env)' },
  'http-port': { type: 'string', describe: 'validator HTTP port (default 8000)' },
  'wallet-path': { type: 'string', describe: 'wallets folder (default BT_WALLET_PATH, else ~/.bittensor/wallets)' },
  'venv-dir': { type: 'string', describe: 'validator virtualenv (default <repo>/../local-development/venv if it exists, else <repo>/venv)' },
  autoupdate: { type: 'boolean', describe: 'install the auto-update scheduler (--no-autoupdate: do not)' },
  'autoupdate-interval': { type: 'string', describe: 'how often the updater runs (default ALPHACORE_AUTOUPDATE_INTERVAL, else 2m)' },
  'enable-linger': { type: 'boolean', describe: 'run `loginctl enable-linger` so the timer runs while logged out' },
  'disable-llm': { type: 'boolean', describe: 'no LLM prompt generation (no OpenAI key needed)' },
  'allow-llm-fallback': { type: 'boolean', describe: 'deterministic prompts when the LLM fails' },
  'openai-api-key': { type: 'string', describe: 'OpenAI key (else ALPHACORE_OPENAI_API_KEY, else OPENAI_API_KEY)' },
  'prompt-postprocess': { type: 'string', describe: 'none | minimal | full (default ALPHACORE_PROMPT_POSTPROCESS, else none)' },
  register: { type: 'boolean', describe: 'run `btcli subnet register` first' },
  yes: { type: 'boolean', alias: 'y', describe: 'no prompts from btcli' },
  timed: { type: 'boolean', describe: 'timed rounds (the default loop mode; kept for the bash flags)' },
  'tick-seconds': { type: 'string', describe: 'seconds per timed round (default 1200)' },
  'epoch-slots': { type: 'string', alias: 'validator.epoch_slots', describe: 'windows per epoch (default 1 on local, else 4)' },
  'epoch-slot-index': { type: 'string', alias: 'validator.epoch_slot_index', describe: 'this validator\'s window, 0..slots-1' },
  'weights-min-tasks-before-emit': { type: 'string', alias: 'validator.weights_min_tasks_before_emit', describe: 'tasks before weights are emitted' },
  'round-lockfile': { type: 'string', describe: 'where the validator writes its round lock (default VALIDATOR_ROUND_LOCKFILE, else ~/.local/state/alphacore/autoupdate/<namespace>.round.lock)' },
  entrypoint: { type: 'string', describe: 'validator entry point, relative to the clone (default: the ecosystem file\'s, scripts/start_validator.py)' },
  replace: { type: 'boolean', describe: 'replace another hotkey\'s validator already in this PM2 namespace (it is stopped and deleted)' },
  'allowed-signers': { type: 'string', describe: 'OpenSSH allowed_signers file: the updater deploys only releases signed by these keys (ALLOWED_SIGNERS)' },
  'signature-policy': { type: 'string', describe: 'tip (the release deployed; default) | all (every commit from HEAD to it) (SIGNATURE_POLICY)' },
  'repo-dir': { type: 'string', describe: 'deploy clone of AlphaCore (default: git top level of the current dir)' },
  'pm2-logrotate': { type: 'boolean', describe: 'install PM2\'s log rotation (pm2 install pm2-logrotate: max_size 50M, retain 10, compress); needs the npm registry' },
  'restart-policy': { type: 'string', describe: 'prompt (deploy each release at the first round gap; default) | coalesce (hold releases while the validator sets weights, README "The weights warm-up") (RESTART_POLICY)' },
  'metrics-dir': { type: 'string', describe: "node_exporter's textfile directory: every update run rewrites alphacore_<namespace>.prom there (METRICS_DIR)" },
  'dry-run': { type: 'boolean', describe: 'print every file, PM2 app and scheduler entry, change nothing' },
  json: { type: 'boolean', describe: 'one JSON object on stdout: the plan and the result (an error too, same exit code)' },
} as const satisfies Record<string, Options>;

/**
 * yargs parser settings launch needs: `--validator.epoch_slots` is a flag, not an object.
 * A repeated flag stays an array (yargs' default), so that launch can refuse
 * `--netuid 66 ... --netuid 67` instead of silently taking the last one.
 */
export const LAUNCH_PARSER_CONFIG = { 'dot-notation': false } as const;

/** The flags as given (undefined: not given). */
export interface LaunchArgs {
  walletName?: string;
  hotkey?: string;
  netuid?: string;
  network?: string;
  chainEndpoint?: string;
  profile?: string;
  validatorSa?: string;
  gcpCredsFile?: string;
  validationApiEndpoint?: string;
  disableValidationApi: boolean;
  processName?: string;
  pm2Namespace?: string;
  envOut?: string;
  httpPort?: string;
  walletPath?: string;
  venvDir?: string;
  autoupdate: boolean;
  autoupdateInterval?: string;
  enableLinger: boolean;
  disableLlm: boolean;
  allowLlmFallback: boolean;
  openaiApiKey?: string;
  promptPostprocess?: string;
  register: boolean;
  yes: boolean;
  timed: boolean;
  tickSeconds?: string;
  epochSlots?: string;
  epochSlotIndex?: string;
  weightsMinTasksBeforeEmit?: string;
  roundLockfile?: string;
  entrypoint?: string;
  replace: boolean;
  allowedSigners?: string;
  signaturePolicy?: string;
  repoDir?: string;
  metricsDir?: string;
  /** --pm2-logrotate: install pm2-logrotate in the operator's PM2 (launch only, never a relaunch). */
  pm2Logrotate: boolean;
  restartPolicy?: string;
  dryRun: boolean;
  json: boolean;
  /** Flags yargs did not know and stray positional words: reported with the other problems. */
  unknown: string[];
  /** Flags typed with no value or given twice (from the typed words); absent when built without them. */
  usage?: LaunchUsage;
}

export function declareLaunchOptions<T>(y: Argv<T>): Argv {
  // Not strict: unknown flags are collected and reported together with every other problem.
  return y.options(LAUNCH_OPTIONS).parserConfiguration(LAUNCH_PARSER_CONFIG).strict(false) as unknown as Argv;
}

const KNOWN = new Set<string>(['_', '$0', 'help', 'version', 'h', 'v']);
for (const [name, spec] of Object.entries(LAUNCH_OPTIONS)) {
  KNOWN.add(name);
  KNOWN.add(name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()));
  if ('alias' in spec) KNOWN.add(spec.alias);
}

/**
 * Maps parsed yargs output to LaunchArgs. `positional` are words after the command name;
 * `raw`, the words typed, shows what yargs' output cannot: a flag given no value.
 */
export function launchArgsFrom(argv: Record<string, unknown>, positional: readonly unknown[], raw?: readonly string[]): LaunchArgs {
  const words = typedWords(LAUNCH_OPTIONS, argv, raw);
  const str = (key: string): string | undefined => {
    // A flag given no value counts as not given: its one problem is in `usage`.
    if (words.usage.valueless.includes(key)) return undefined;
    if (words.values.has(key)) return words.values.get(key);
    const v = argv[key];
    if (v === undefined) return undefined;
    return Array.isArray(v) ? String(v.at(-1)) : String(v);
  };
  const bool = (key: string, fallback = false): boolean => (argv[key] === undefined ? fallback : Boolean(argv[key]));
  const unknown = Object.keys(argv)
    .filter((k) => !KNOWN.has(k) && !words.notFlags.has(k))
    // yargs adds the camelCase twin of an unknown --foo-bar; report the flag once.
    .filter((k) => !(k !== k.toLowerCase() && Object.keys(argv).includes(k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))))
    .map((k) => `--${k}`);
  for (const word of positional) unknown.push(String(word));
  return {
    walletName: str('wallet-name'),
    hotkey: str('hotkey'),
    netuid: str('netuid'),
    network: str('network'),
    chainEndpoint: str('chain-endpoint'),
    profile: str('profile'),
    validatorSa: str('validator-sa'),
    gcpCredsFile: str('gcp-creds-file'),
    validationApiEndpoint: str('validation-api-endpoint'),
    disableValidationApi: bool('disable-validation-api'),
    processName: str('process-name'),
    pm2Namespace: str('pm2-namespace'),
    envOut: str('env-out'),
    httpPort: str('http-port'),
    walletPath: str('wallet-path'),
    venvDir: str('venv-dir'),
    autoupdate: bool('autoupdate', true),
    autoupdateInterval: str('autoupdate-interval'),
    enableLinger: bool('enable-linger'),
    disableLlm: bool('disable-llm'),
    allowLlmFallback: bool('allow-llm-fallback'),
    openaiApiKey: str('openai-api-key'),
    promptPostprocess: str('prompt-postprocess'),
    register: bool('register'),
    yes: bool('yes'),
    timed: bool('timed'),
    tickSeconds: str('tick-seconds'),
    epochSlots: str('epoch-slots'),
    epochSlotIndex: str('epoch-slot-index'),
    weightsMinTasksBeforeEmit: str('weights-min-tasks-before-emit'),
    roundLockfile: str('round-lockfile'),
    entrypoint: str('entrypoint'),
    replace: bool('replace'),
    allowedSigners: str('allowed-signers'),
    signaturePolicy: str('signature-policy'),
    repoDir: str('repo-dir'),
    metricsDir: str('metrics-dir'),
    pm2Logrotate: bool('pm2-logrotate'),
    restartPolicy: str('restart-policy'),
    dryRun: bool('dry-run'),
    json: bool('json'),
    unknown,
    usage: words.usage,
  };
}

/**
 * Parses launch flags from an argv array without touching the process (no exit, no
 * output): what relaunchValidator and the update cycle use.
 */
export async function parseLaunchArgv(argv: readonly string[]): Promise<LaunchArgs> {
  const { default: yargs } = await import('yargs');
  const parser = declareLaunchOptions(yargs([...argv]))
    .help(false)
    .version(false)
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new UserError(`Invalid launch flags: ${message}`);
    });
  const parsed = (await parser.parse()) as Record<string, unknown> & { _: unknown[] };
  return launchArgsFrom(parsed, parsed._, argv);
}

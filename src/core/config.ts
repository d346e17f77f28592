import fs from 'node:fs';
import path from 'node:path';
import {
  COMMIT_SHA, fileNameProblem, GIT_REF, isNetuid, isUrl, localEndpointPort, MAX_NETUID, NAME, parseBytes, shown,
} from './config-checks.js';
import { originOf, readConfigSource, type ConfigSource, type FlagSetting } from './config-source.js';
import { parseDurationMs } from './duration.js';
import { PARSE_HINT, splitWords } from './envfile.js';
import { UserError, warningSection } from './errors.js';
import { RESTART_DEFAULTS, restartSettings, type RestartSettings } from './restart-config.js';
import { signatureSettings, type SignatureSettings } from './signature-config.js';

export {
  COMMIT_SHA, fileNameProblem, isNetuid, isUrl, localApiPort, MAX_NETUID, NAME, parseBytes, shown,
} from './config-checks.js';

/** Every key the auto-update config may hold (DESIGN.md §3). */
export const CONFIG_KEYS = [
  'NETWORK', 'WALLET_NAME', 'WALLET_HOTKEY', 'NETUID', 'GCP_CREDS_FILE',
  'PM2_NAMESPACE', 'REPO_DIR', 'REMOTE', 'BRANCH', 'CHAIN_ENDPOINT', 'PROFILE',
  'VALIDATOR_PROCESS_NAME', 'VALIDATION_PROCESS_NAME', 'VALIDATION_API_ENDPOINT',
  'VALIDATOR_VENV_DIR', 'VALIDATION_VENV_DIR', 'VALIDATOR_ENV_FILE', 'VALIDATION_ENV_FILE',
  'VALIDATOR_HTTP_PORT', 'VALIDATION_HTTP_HOST', 'VALIDATION_HTTP_PORT', 'WALLET_PATH',
  'VALIDATOR_ROUND_LOCKFILE', 'VALIDATOR_EXTRA_ARGS', 'VALIDATION_API_EXTRA_ARGS',
  'ALPHACORE_OPENAI_API_KEY', 'AUTOUPDATE_LOCKFILE',
  'ROUND_LOCK_MAX_AGE', 'HEALTH_TIMEOUT', 'HEALTH_STABLE', 'SANDBOX_SETUP', 'DEPS_REFRESH',
  'NOTIFY_WEBHOOK_URL', 'LOG_MAX_BYTES', 'MAX_DEFERRAL',
  'ALLOWED_SIGNERS', 'REVOKED_SIGNERS', 'SIGNATURE_POLICY',
  'METRICS_DIR', 'PIN',
  'RESTART_POLICY', 'RESTART_MIN_INTERVAL', 'RESTART_MAX_DELAY',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Keys whose values never appear in logs or output. */
export const SECRET_KEYS: readonly ConfigKey[] = ['ALPHACORE_OPENAI_API_KEY', 'NOTIFY_WEBHOOK_URL'];

export const DEFAULTS = {
  PM2_NAMESPACE: 'alphacore',
  REMOTE: 'origin',
  BRANCH: 'release',
  VALIDATION_PROCESS_NAME: 'alphacore-validation-api',
  VALIDATION_API_ENDPOINT: 'http://127.0.0.1:8888',
  VALIDATOR_ROUND_LOCKFILE: '/tmp/alphacore-validator-round.lock',
  ROUND_LOCK_MAX_AGE: '6h',
  HEALTH_TIMEOUT: '120s',
  HEALTH_STABLE: '20s',
  SANDBOX_SETUP: 'auto',
  DEPS_REFRESH: 'auto',
  LOG_MAX_BYTES: '5M',
  MAX_DEFERRAL: '6h',
  ...RESTART_DEFAULTS,
} as const;

export const NETWORKS = ['local', 'test', 'finney'] as const;
export const PROFILES = ['local', 'testing', 'production'] as const;
export type RefreshMode = 'auto' | 'always' | 'never';

/**
 * The keys the relaunch and the Validation API's start pass on only when the file (or
 * the environment) sets them: launch and the repo's script apply their own defaults
 * otherwise, so the env file comes out as the first launch wrote it.
 */
export interface GivenLaunchKeys {
  validationApiEndpoint?: string;
  validatorProcessName?: string;
  validatorEnvFile?: string;
  validatorHttpPort?: string;
  walletPath?: string;
  validatorVenvDir?: string;
  chainEndpoint?: string;
  profile?: string;
  openaiApiKey?: string;
  validationProcessName?: string;
  validationEnvFile?: string;
  validationVenvDir?: string;
  validationHttpHost?: string;
  validationHttpPort?: string;
}

export interface AutoupdateConfig {
  file: string;
  /** What the relaunch and the API start pass on as set (see GivenLaunchKeys). */
  given: Readonly<GivenLaunchKeys>;
  namespace: string;
  network: string;
  walletName: string;
  walletHotkey: string;
  netuid: string;
  gcpCredsFile: string | undefined;
  repoDir: string;
  remote: string;
  branch: string;
  validatorProcessName: string;
  validationProcessName: string;
  validationApiEndpoint: string;
  roundLockfile: string;
  lockfile: string;
  validatorExtraArgs: string[];
  validationApiExtraArgs: string[];
  /** The env files and venvs the config names (launch's defaults apply when unset). */
  validatorEnvFile: string | undefined;
  validatorVenvDir: string | undefined;
  validationVenvDir: string | undefined;
  roundLockMaxAgeMs: number;
  healthTimeoutMs: number;
  healthStableMs: number;
  maxDeferralMs: number;
  sandboxSetup: RefreshMode;
  depsRefresh: RefreshMode;
  notifyWebhookUrl: string | undefined;
  logMaxBytes: number;
  /** The signature policy (DESIGN.md §11); undefined when ALLOWED_SIGNERS is not set. */
  signatures: SignatureSettings | undefined;
  /** node_exporter's textfile directory: each run rewrites alphacore_<ns>.prom there (§12). */
  metricsDir: string | undefined;
  /** PIN (DESIGN.md §13): the commit this host stays on whatever the branch does. */
  pin: string | undefined;
  /** RESTART_POLICY and its spans (DESIGN.md §14). */
  restart: RestartSettings;
  /** Keys in the file this version does not know (reported as a warning, ignored). */
  unknownKeys: string[];
  /** Unknown keys (with the nearest known one) and keys given twice: say each, then go on. */
  warnings: string[];
  /** Secret values to mask wherever text leaves the process. */
  secrets: string[];
}

export interface ConfigOverrides {
  repoDir?: string;
  remote?: string;
  branch?: string;
}

/** The namespace a config is for (PM2_NAMESPACE as written, else the default). */
function namespaceOf(values: Partial<Record<ConfigKey, string>>): string {
  return values.PM2_NAMESPACE || DEFAULTS.PM2_NAMESPACE;
}

/**
 * The one reader of the auto-update config (docs/usage-and-config.md, "Strict and
 * salvage"). Both modes read the same sources (defaults < file < environment < flags)
 * into the same typed values:
 * - `strict` (update, launch, autoupdate enable): every problem, each naming its file
 *   and line (or the environment, or the flag) and key, thrown as one UserError (exit 2).
 * - `salvage` (status, metrics, logs, uninstall, the record of an invalid config):
 *   never throws on bad content; a value that is wrong or missing takes its default
 *   (a path that fails its check is kept as written), and the problems are returned
 *   beside the values, for the command to show.
 */
export type ConfigMode = 'strict' | 'salvage';

export interface ConfigInput {
  file: string;
  env: Readonly<Record<string, string | undefined>>;
  paths: { lock(ns: string): string; home: string };
  overrides?: ConfigOverrides;
  /** The file's text when the caller has it (tests): the file is then not read. */
  text?: string;
}

export interface ConfigReading {
  file: string;
  found: 'read' | 'missing' | 'unreadable';
  /** The errno code when the file could not be read. */
  readError?: string;
  config: AutoupdateConfig;
  /**
   * What a strict read stops on: the lines that could not be read, or (when every line
   * was read) each wrong or missing value; a missing or unreadable file says so.
   */
  problems: string[];
  /** The lines that could not be read (file:line: why): the keys on them are not set. */
  lineProblems: string[];
  /** Unknown keys (with the nearest known key) and keys given twice. */
  warnings: string[];
  /** Keys whose value is wrong: their typed value is the default. */
  invalid: ReadonlySet<ConfigKey>;
  /** The problems of each wrong key, as in `problems`. */
  keyProblems: ReadonlyMap<ConfigKey, readonly string[]>;
  /** Keys set by the file, the environment or a flag (not defaulted). */
  given: ReadonlySet<ConfigKey>;
}

export function readConfig(input: ConfigInput, mode: 'strict'): AutoupdateConfig;
export function readConfig(input: ConfigInput, mode: 'salvage'): ConfigReading;
export function readConfig(input: ConfigInput, mode: ConfigMode): AutoupdateConfig | ConfigReading {
  const { file, env, paths, overrides = {} } = input;
  const flags: Partial<Record<ConfigKey, FlagSetting>> = {
    REPO_DIR: { value: overrides.repoDir, flag: '--repo-dir' },
    REMOTE: { value: overrides.remote, flag: '--remote' },
    BRANCH: { value: overrides.branch, flag: '--branch' },
  };
  const source = readConfigSource(file, CONFIG_KEYS, env, flags, paths.home, input.text);
  if (mode === 'strict' && source.found !== 'read') {
    throw new UserError(
      source.found === 'missing' ? `--config: ${file} does not exist.` : `--config: cannot read ${file} (${source.readError}).`,
      { hint: 'Pass the auto-update config that `alphacore launch` wrote, e.g. ~/.config/alphacore/autoupdate/alphacore.env.' },
    );
  }
  const { config, problems: valueProblems, invalid, keyProblems } = interpretConfig(source, env, paths);
  // Values judged on a file whose lines did not all read would only add noise about
  // the keys of those lines: the lines come first.
  const lines = source.lineProblems;
  if (mode === 'strict') {
    if (lines.length > 0) {
      throw new UserError(`Cannot read ${file}:\n${lines.map((p) => `  - ${p}`).join('\n')}${warningSection(source.warnings)}`, {
        hint: PARSE_HINT,
        problems: lines,
        warnings: source.warnings,
      });
    }
    if (valueProblems.length > 0) {
      throw new UserError(`Invalid auto-update config ${file}:\n${valueProblems.map((p) => `  - ${p}`).join('\n')}${warningSection(source.warnings)}`, {
        hint: 'Fix the keys above in the file (or the environment variable of the same name) and run again.',
        problems: valueProblems,
        warnings: source.warnings,
      });
    }
    return config;
  }
  const unread = source.found === 'unreadable' ? [`cannot read ${file} (${source.readError}).`] : [];
  return {
    file,
    found: source.found,
    ...(source.readError ? { readError: source.readError } : {}),
    config,
    problems: source.found === 'missing' ? [] : source.found === 'unreadable' ? unread : lines.length > 0 ? lines : valueProblems,
    lineProblems: lines,
    warnings: source.warnings,
    invalid,
    keyProblems,
    given: new Set(Object.keys(source.settings) as ConfigKey[]),
  };
}

/** The strict read with the arguments update and autoupdate have always passed. */
export function loadConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  overrides: ConfigOverrides,
  paths: { lock(ns: string): string; home: string },
): AutoupdateConfig {
  return readConfig({ file, env, overrides, paths }, 'strict');
}

/**
 * Applies the defaults and checks every key, collecting every problem; a wrong value
 * is replaced by its default so that a salvage read still has a typed value. A key
 * added to CONFIG_KEYS is read here: its problems go through `problems.add(text, key)`
 * so that they name where the value came from.
 */
function interpretConfig(
  source: ConfigSource<ConfigKey>,
  env: Readonly<Record<string, string | undefined>>,
  paths: { lock(ns: string): string },
): { config: AutoupdateConfig; problems: string[]; invalid: Set<ConfigKey>; keyProblems: Map<ConfigKey, string[]> } {
  const file = source.file;
  const invalid = new Set<ConfigKey>();
  const keyProblems = new Map<ConfigKey, string[]>();
  const list: string[] = [];
  const problems = {
    add(text: string, key?: ConfigKey): void {
      const located = `${originOf(key ? source.settings[key] : undefined)}${text}`;
      list.push(located);
      if (!key) return;
      invalid.add(key);
      keyProblems.set(key, [...(keyProblems.get(key) ?? []), located]);
    },
  };
  const extraWarnings: string[] = [];
  const values: Partial<Record<ConfigKey, string>> = Object.fromEntries(Object.entries(source.settings).map(([k, s]) => [k, s!.value]));
  const get = (key: ConfigKey): string | undefined => values[key] || undefined;
  /** The value when it passed its check, else undefined (the caller's default applies). */
  const valid = (key: ConfigKey): string | undefined => (invalid.has(key) ? undefined : get(key));

  for (const key of ['NETWORK', 'WALLET_NAME', 'WALLET_HOTKEY', 'NETUID'] as const) {
    if (!get(key)) problems.add(`${key} is required (add ${key}=... to ${file}).`);
  }
  const network = get('NETWORK');
  // The bash launcher's rule: any network, as long as the chain endpoint is explicit.
  if (network && !(NETWORKS as readonly string[]).includes(network) && !get('CHAIN_ENDPOINT')) {
    problems.add(`NETWORK=${shown(network)} is not one of ${NETWORKS.join(', ')}, so CHAIN_ENDPOINT is required: add CHAIN_ENDPOINT=wss://... to ${file}.`, 'NETWORK');
  }
  for (const key of ['NETWORK', 'WALLET_NAME', 'WALLET_HOTKEY'] as const) {
    const v = get(key);
    const why = v === undefined ? undefined : fileNameProblem(v);
    if (why && v !== undefined) problems.add(`${key}=${JSON.stringify(shown(v))} ${why}.`, key);
  }
  const netuid = get('NETUID');
  if (netuid && !isNetuid(netuid)) problems.add(`NETUID=${shown(netuid)} must be a subnet uid, an integer 0-${MAX_NETUID}.`, 'NETUID');
  const creds = get('GCP_CREDS_FILE');
  if (creds) {
    if (!fs.existsSync(creds)) problems.add(`GCP_CREDS_FILE=${shown(creds)} does not exist; point it at the service-account JSON key.`, 'GCP_CREDS_FILE');
  } else if (!env.GOOGLE_OAUTH_ACCESS_TOKEN) {
    problems.add('GCP_CREDS_FILE is required (or GOOGLE_OAUTH_ACCESS_TOKEN in the environment).');
  }
  const namespaceRaw = namespaceOf(values);
  if (!NAME.test(namespaceRaw)) problems.add(`PM2_NAMESPACE=${shown(namespaceRaw)} may only hold letters, digits, '_', '.', '-'.`, 'PM2_NAMESPACE');
  const namespace = valid('PM2_NAMESPACE') ?? DEFAULTS.PM2_NAMESPACE;
  const repoDir = get('REPO_DIR');
  if (!repoDir) problems.add(`REPO_DIR is required (add REPO_DIR=/path/to/alphacore to ${file}, or pass --repo-dir).`);
  else if (!path.isAbsolute(repoDir)) problems.add(`REPO_DIR=${shown(repoDir)} must be an absolute path.`, 'REPO_DIR');
  else if (!fs.existsSync(path.join(repoDir, '.git'))) problems.add(`REPO_DIR=${shown(repoDir)} is not a git clone (no .git); pass the deploy clone of AlphaCore.`, 'REPO_DIR');
  if (!NAME.test(get('REMOTE') ?? DEFAULTS.REMOTE)) problems.add(`REMOTE=${shown(get('REMOTE')!)} is not a valid remote name.`, 'REMOTE');
  const remote = valid('REMOTE') ?? DEFAULTS.REMOTE;
  if (!GIT_REF.test(get('BRANCH') ?? DEFAULTS.BRANCH)) problems.add(`BRANCH=${shown(get('BRANCH')!)} is not a valid branch name.`, 'BRANCH');
  const branch = valid('BRANCH') ?? DEFAULTS.BRANCH;
  const chain = get('CHAIN_ENDPOINT');
  if (chain && !isUrl(chain, ['ws:', 'wss:'])) problems.add(`CHAIN_ENDPOINT=${shown(chain)} must be a ws:// or wss:// URL.`, 'CHAIN_ENDPOINT');
  const profile = get('PROFILE');
  if (profile && !(PROFILES as readonly string[]).includes(profile)) problems.add(`PROFILE=${shown(profile)} is not one of ${PROFILES.join(', ')}.`, 'PROFILE');
  const apiEndpointRaw = (get('VALIDATION_API_ENDPOINT') ?? DEFAULTS.VALIDATION_API_ENDPOINT).replace(/\/+$/, '');
  if (!isUrl(apiEndpointRaw, ['http:', 'https:'])) problems.add(`VALIDATION_API_ENDPOINT=${shown(apiEndpointRaw)} must be an http:// or https:// URL.`, 'VALIDATION_API_ENDPOINT');
  const apiEndpoint = invalid.has('VALIDATION_API_ENDPOINT') ? DEFAULTS.VALIDATION_API_ENDPOINT : apiEndpointRaw;
  if (get('NOTIFY_WEBHOOK_URL') && !isUrl(get('NOTIFY_WEBHOOK_URL')!, ['http:', 'https:'])) problems.add('NOTIFY_WEBHOOK_URL must be an http:// or https:// URL.', 'NOTIFY_WEBHOOK_URL');
  const webhook = valid('NOTIFY_WEBHOOK_URL');
  for (const key of ['VALIDATOR_HTTP_PORT', 'VALIDATION_HTTP_PORT'] as const) {
    const v = get(key);
    if (v && !(/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535)) problems.add(`${key}=${shown(v)} must be a port number 1-65535.`, key);
  }
  // The API is started on VALIDATION_HTTP_PORT (else the endpoint's port, see localApiPort)
  // and waited for on the endpoint: two different local ports can only fail the health check.
  const apiPort = valid('VALIDATION_HTTP_PORT');
  const polled = localEndpointPort(apiEndpoint);
  if (apiPort && polled && apiPort !== polled) {
    extraWarnings.push(`VALIDATION_HTTP_PORT=${apiPort} but VALIDATION_API_ENDPOINT=${apiEndpoint} is port ${polled} of this machine: an update starts the API on ${apiPort} and waits for it on ${polled}, and fails. Make them agree (or remove VALIDATION_HTTP_PORT: the endpoint's port is used).`);
  }
  // PM2 names hold what wallet names hold (the default is validator-<hotkey>-<network>); PM2 makes log file names of them.
  for (const key of ['VALIDATOR_PROCESS_NAME', 'VALIDATION_PROCESS_NAME'] as const) {
    const v = get(key);
    const why = v === undefined ? undefined : fileNameProblem(v);
    if (why && v !== undefined) problems.add(`${key}=${JSON.stringify(shown(v))} ${why}.`, key);
  }
  const duration = (key: 'ROUND_LOCK_MAX_AGE' | 'HEALTH_TIMEOUT' | 'HEALTH_STABLE' | 'MAX_DEFERRAL'): number => {
    const raw = get(key) ?? DEFAULTS[key];
    const ms = parseDurationMs(raw);
    if (ms === undefined || ms <= 0) {
      problems.add(`${key}=${shown(raw)} is not a time span; use systemd syntax such as 90s, 2m, 6h.`, key);
      return parseDurationMs(DEFAULTS[key])!;
    }
    return ms;
  };
  const mode = (key: 'SANDBOX_SETUP' | 'DEPS_REFRESH'): RefreshMode => {
    const raw = get(key) ?? DEFAULTS[key];
    if (raw !== 'auto' && raw !== 'always' && raw !== 'never') {
      problems.add(`${key}=${shown(raw)} must be auto, always or never.`, key);
      return 'auto';
    }
    return raw;
  };
  const words = (key: 'VALIDATOR_EXTRA_ARGS' | 'VALIDATION_API_EXTRA_ARGS'): string[] => {
    const raw = get(key);
    if (!raw) return [];
    try {
      return splitWords(raw, key);
    } catch (error) {
      problems.add((error as Error).message, key);
      return [];
    }
  };
  const metricsDir = get('METRICS_DIR');
  if (metricsDir && !path.isAbsolute(metricsDir)) problems.add(`METRICS_DIR=${metricsDir} must be an absolute path (node_exporter's --collector.textfile.directory).`, 'METRICS_DIR');
  const pin = get('PIN');
  if (pin && !COMMIT_SHA.test(pin)) problems.add(`PIN=${shown(pin)} is not a commit sha (7 to 40 hex digits); pin the deployed commit with PIN=$(git -C <repo> rev-parse HEAD), or remove the line to follow ${branch}.`, 'PIN');
  const logMaxRaw = get('LOG_MAX_BYTES') ?? DEFAULTS.LOG_MAX_BYTES;
  const logMaxBytes = parseBytes(logMaxRaw);
  if (logMaxBytes === undefined || logMaxBytes < 1024) problems.add(`LOG_MAX_BYTES=${shown(logMaxRaw)} must be a size of at least 1K (e.g. 5M).`, 'LOG_MAX_BYTES');

  const signatures = signatureSettings(get, (text, key) => problems.add(text, key));
  const restart = restartSettings(get, (text) => problems.add(text));

  const config: AutoupdateConfig = {
    file,
    given: {
      validationApiEndpoint: get('VALIDATION_API_ENDPOINT'),
      validatorProcessName: get('VALIDATOR_PROCESS_NAME'),
      validatorEnvFile: get('VALIDATOR_ENV_FILE'),
      validatorHttpPort: get('VALIDATOR_HTTP_PORT'),
      walletPath: get('WALLET_PATH'),
      validatorVenvDir: get('VALIDATOR_VENV_DIR'),
      chainEndpoint: get('CHAIN_ENDPOINT'),
      profile: get('PROFILE'),
      openaiApiKey: get('ALPHACORE_OPENAI_API_KEY'),
      validationProcessName: get('VALIDATION_PROCESS_NAME'),
      validationEnvFile: get('VALIDATION_ENV_FILE'),
      validationVenvDir: get('VALIDATION_VENV_DIR'),
      validationHttpHost: get('VALIDATION_HTTP_HOST'),
      validationHttpPort: get('VALIDATION_HTTP_PORT'),
    },
    namespace,
    network: network ?? '',
    walletName: get('WALLET_NAME') ?? '',
    walletHotkey: get('WALLET_HOTKEY') ?? '',
    netuid: valid('NETUID') ?? '',
    gcpCredsFile: creds,
    repoDir: repoDir ?? '',
    remote,
    branch,
    validatorProcessName: get('VALIDATOR_PROCESS_NAME') ?? `validator-${get('WALLET_HOTKEY') ?? ''}-${network ?? ''}`,
    validationProcessName: get('VALIDATION_PROCESS_NAME') ?? DEFAULTS.VALIDATION_PROCESS_NAME,
    validationApiEndpoint: apiEndpoint,
    roundLockfile: get('VALIDATOR_ROUND_LOCKFILE') ?? DEFAULTS.VALIDATOR_ROUND_LOCKFILE,
    lockfile: get('AUTOUPDATE_LOCKFILE') ?? paths.lock(namespace),
    validatorExtraArgs: words('VALIDATOR_EXTRA_ARGS'),
    validationApiExtraArgs: words('VALIDATION_API_EXTRA_ARGS'),
    validatorEnvFile: get('VALIDATOR_ENV_FILE'),
    validatorVenvDir: get('VALIDATOR_VENV_DIR'),
    validationVenvDir: get('VALIDATION_VENV_DIR'),
    roundLockMaxAgeMs: duration('ROUND_LOCK_MAX_AGE'),
    healthTimeoutMs: duration('HEALTH_TIMEOUT'),
    healthStableMs: duration('HEALTH_STABLE'),
    maxDeferralMs: duration('MAX_DEFERRAL'),
    sandboxSetup: mode('SANDBOX_SETUP'),
    depsRefresh: mode('DEPS_REFRESH'),
    notifyWebhookUrl: webhook,
    logMaxBytes: invalid.has('LOG_MAX_BYTES') ? parseBytes(DEFAULTS.LOG_MAX_BYTES)! : logMaxBytes!,
    signatures,
    metricsDir: valid('METRICS_DIR'),
    pin: valid('PIN'),
    restart,
    unknownKeys: source.unknown,
    warnings: [...source.warnings, ...extraWarnings],
    secrets: [get('ALPHACORE_OPENAI_API_KEY'), get('NOTIFY_WEBHOOK_URL'), env.GOOGLE_OAUTH_ACCESS_TOKEN].filter((s): s is string => Boolean(s && s.length >= 4)),
  };
  return { config, problems: list, invalid, keyProblems };
}

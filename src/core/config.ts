import fs from 'node:fs';
import path from 'node:path';
import { parseDurationMs } from './duration.js';
import { parseEnvFile, splitWords } from './envfile.js';
import { Problems, UserError } from './errors.js';

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
  'NOTIFY_WEBHOOK_URL', 'LOG_MAX_BYTES', 'MAX_DEFERRAL', 'PIN',
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
} as const;

export const NETWORKS = ['local', 'test', 'finney'] as const;
export const PROFILES = ['local', 'testing', 'production'] as const;
export type RefreshMode = 'auto' | 'always' | 'never';

export interface AutoupdateConfig {
  file: string;
  values: Readonly<Partial<Record<ConfigKey, string>>>;
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
  roundLockMaxAgeMs: number;
  healthTimeoutMs: number;
  healthStableMs: number;
  maxDeferralMs: number;
  sandboxSetup: RefreshMode;
  depsRefresh: RefreshMode;
  notifyWebhookUrl: string | undefined;
  logMaxBytes: number;
  /** PIN (DESIGN.md §13): the commit this host stays on whatever the branch does. */
  pin: string | undefined;
  /** Keys in the file this version does not know (reported as a warning, ignored). */
  unknownKeys: string[];
  /** Secret values to mask wherever text leaves the process. */
  secrets: string[];
}

export interface ConfigOverrides {
  repoDir?: string;
  remote?: string;
  branch?: string;
}

/** Names that become file names and PM2 names: wallet, hotkey, namespace, process. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A commit named by its sha, full or abbreviated (PIN, update --to). */
export const COMMIT_SHA = /^[0-9a-f]{7,40}$/i;
const GIT_REF = /^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*[/.]$)[A-Za-z0-9][A-Za-z0-9_./-]*$/;

export function parseBytes(text: string): number | undefined {
  const m = /^(\d+)\s*([KMG]i?B?|B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toUpperCase()[0];
  const factor = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(m[1]) * factor;
}

export function isUrl(value: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

/** The namespace a config is for. */
export function namespaceOf(values: Partial<Record<ConfigKey, string>>): string {
  return values.PM2_NAMESPACE || DEFAULTS.PM2_NAMESPACE;
}

/**
 * Reads and validates an auto-update config. Precedence: defaults < file <
 * environment < flags. Every problem is reported at once (UserError, exit 2).
 */
export function loadConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  overrides: ConfigOverrides,
  paths: { lock(ns: string): string; home: string },
): AutoupdateConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? `--config: ${file} does not exist.` : `--config: cannot read ${file} (${code}).`,
      { hint: 'Pass the auto-update config that `alphacore launch` wrote, e.g. ~/.config/alphacore/autoupdate/alphacore.env.' },
    );
  }
  const { values, unknown } = configValues(text, file, env, overrides, paths.home);
  return validateConfig(file, values, unknown, env, paths);
}

/**
 * The values a config means: the file's known keys, then the environment, then the
 * flags (defaults are applied by validateConfig). Unknown keys are returned apart.
 */
export function configValues(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  overrides: ConfigOverrides,
  home: string,
): { values: Partial<Record<ConfigKey, string>>; unknown: string[] } {
  const values: Partial<Record<ConfigKey, string>> = {};
  const known = new Set<string>(CONFIG_KEYS);
  const unknown: string[] = [];
  for (const entry of parseEnvFile(text, { source: file, home })) {
    if (known.has(entry.key)) values[entry.key as ConfigKey] = entry.value;
    else unknown.push(entry.key);
  }
  for (const key of CONFIG_KEYS) {
    const fromEnv = env[key];
    if (fromEnv !== undefined && fromEnv !== '') values[key] = fromEnv;
  }
  if (overrides.repoDir) values.REPO_DIR = overrides.repoDir;
  if (overrides.remote) values.REMOTE = overrides.remote;
  if (overrides.branch) values.BRANCH = overrides.branch;
  return { values, unknown };
}

/** Applies the defaults and checks every key; all problems at once (UserError, exit 2). */
export function validateConfig(
  file: string,
  values: Partial<Record<ConfigKey, string>>,
  unknown: string[],
  env: Readonly<Record<string, string | undefined>>,
  paths: { lock(ns: string): string },
): AutoupdateConfig {
  const problems = new Problems();
  const get = (key: ConfigKey): string | undefined => values[key] || undefined;

  for (const key of ['NETWORK', 'WALLET_NAME', 'WALLET_HOTKEY', 'NETUID'] as const) {
    if (!get(key)) problems.add(`${key} is required (add ${key}=... to ${file}).`);
  }
  const network = get('NETWORK');
  if (network && !(NETWORKS as readonly string[]).includes(network)) {
    problems.add(`NETWORK=${network} is not one of ${NETWORKS.join(', ')}.`);
  }
  for (const key of ['WALLET_NAME', 'WALLET_HOTKEY'] as const) {
    const v = get(key);
    if (v && !NAME.test(v)) problems.add(`${key}=${v} may only hold letters, digits, '_', '.', '-'.`);
  }
  const netuid = get('NETUID');
  if (netuid && !/^\d+$/.test(netuid)) problems.add(`NETUID=${netuid} must be a non-negative integer.`);
  const creds = get('GCP_CREDS_FILE');
  if (creds) {
    if (!fs.existsSync(creds)) problems.add(`GCP_CREDS_FILE=${creds} does not exist; point it at the service-account JSON key.`);
  } else if (!env.GOOGLE_OAUTH_ACCESS_TOKEN) {
    problems.add('GCP_CREDS_FILE is required (or GOOGLE_OAUTH_ACCESS_TOKEN in the environment).');
  }
  const namespace = namespaceOf(values);
  if (!NAME.test(namespace)) problems.add(`PM2_NAMESPACE=${namespace} may only hold letters, digits, '_', '.', '-'.`);
  const repoDir = get('REPO_DIR');
  if (!repoDir) problems.add(`REPO_DIR is required (add REPO_DIR=/path/to/alphacore to ${file}, or pass --repo-dir).`);
  else if (!path.isAbsolute(repoDir)) problems.add(`REPO_DIR=${repoDir} must be an absolute path.`);
  else if (!fs.existsSync(path.join(repoDir, '.git'))) problems.add(`REPO_DIR=${repoDir} is not a git clone (no .git); pass the deploy clone of AlphaCore.`);
  const remote = get('REMOTE') ?? DEFAULTS.REMOTE;
  if (!NAME.test(remote)) problems.add(`REMOTE=${remote} is not a valid remote name.`);
  const branch = get('BRANCH') ?? DEFAULTS.BRANCH;
  if (!GIT_REF.test(branch)) problems.add(`BRANCH=${branch} is not a valid branch name.`);
  const chain = get('CHAIN_ENDPOINT');
  if (chain && !isUrl(chain, ['ws:', 'wss:'])) problems.add(`CHAIN_ENDPOINT=${chain} must be a ws:// or wss:// URL.`);
  const profile = get('PROFILE');
  if (profile && !(PROFILES as readonly string[]).includes(profile)) problems.add(`PROFILE=${profile} is not one of ${PROFILES.join(', ')}.`);
  const apiEndpoint = (get('VALIDATION_API_ENDPOINT') ?? DEFAULTS.VALIDATION_API_ENDPOINT).replace(/\/+$/, '');
  if (!isUrl(apiEndpoint, ['http:', 'https:'])) problems.add(`VALIDATION_API_ENDPOINT=${apiEndpoint} must be an http:// or https:// URL.`);
  const webhook = get('NOTIFY_WEBHOOK_URL');
  if (webhook && !isUrl(webhook, ['http:', 'https:'])) problems.add('NOTIFY_WEBHOOK_URL must be an http:// or https:// URL.');
  for (const key of ['VALIDATOR_HTTP_PORT', 'VALIDATION_HTTP_PORT'] as const) {
    const v = get(key);
    if (v && !(/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535)) problems.add(`${key}=${v} must be a port number 1-65535.`);
  }
  for (const key of ['VALIDATOR_PROCESS_NAME', 'VALIDATION_PROCESS_NAME'] as const) {
    const v = get(key);
    if (v && !NAME.test(v)) problems.add(`${key}=${v} may only hold letters, digits, '_', '.', '-'.`);
  }
  const duration = (key: 'ROUND_LOCK_MAX_AGE' | 'HEALTH_TIMEOUT' | 'HEALTH_STABLE' | 'MAX_DEFERRAL'): number => {
    const raw = get(key) ?? DEFAULTS[key];
    const ms = parseDurationMs(raw);
    if (ms === undefined || ms <= 0) {
      problems.add(`${key}=${raw} is not a time span; use systemd syntax such as 90s, 2m, 6h.`);
      return 0;
    }
    return ms;
  };
  const mode = (key: 'SANDBOX_SETUP' | 'DEPS_REFRESH'): RefreshMode => {
    const raw = get(key) ?? DEFAULTS[key];
    if (raw !== 'auto' && raw !== 'always' && raw !== 'never') {
      problems.add(`${key}=${raw} must be auto, always or never.`);
      return 'auto';
    }
    return raw;
  };
  const words = (key: 'VALIDATOR_EXTRA_ARGS' | 'VALIDATION_API_EXTRA_ARGS'): string[] => {
    const raw = get(key);
    if (!raw) return [];
    try {
      return splitWords(raw, `${key} in ${file}`);
    } catch (error) {
      problems.add((error as Error).message);
      return [];
    }
  };
  const pin = get('PIN');
  if (pin && !COMMIT_SHA.test(pin)) problems.add(`PIN=${pin} is not a commit sha (7 to 40 hex digits); pin the deployed commit with PIN=$(git -C <repo> rev-parse HEAD), or remove the line to follow ${branch}.`);
  const logMaxRaw = get('LOG_MAX_BYTES') ?? DEFAULTS.LOG_MAX_BYTES;
  const logMaxBytes = parseBytes(logMaxRaw);
  if (logMaxBytes === undefined || logMaxBytes < 1024) problems.add(`LOG_MAX_BYTES=${logMaxRaw} must be a size of at least 1K (e.g. 5M).`);

  const config: AutoupdateConfig = {
    file,
    values,
    namespace,
    network: network ?? '',
    walletName: get('WALLET_NAME') ?? '',
    walletHotkey: get('WALLET_HOTKEY') ?? '',
    netuid: netuid ?? '',
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
    roundLockMaxAgeMs: duration('ROUND_LOCK_MAX_AGE'),
    healthTimeoutMs: duration('HEALTH_TIMEOUT'),
    healthStableMs: duration('HEALTH_STABLE'),
    maxDeferralMs: duration('MAX_DEFERRAL'),
    sandboxSetup: mode('SANDBOX_SETUP'),
    depsRefresh: mode('DEPS_REFRESH'),
    notifyWebhookUrl: webhook,
    logMaxBytes: logMaxBytes ?? 0,
    pin,
    unknownKeys: unknown,
    secrets: [get('ALPHACORE_OPENAI_API_KEY'), webhook, env.GOOGLE_OAUTH_ACCESS_TOKEN].filter((s): s is string => Boolean(s && s.length >= 4)),
  };
  problems.throwIfAny(`Invalid auto-update config ${file}:`, 'Fix the keys above in the file (or the environment variable of the same name) and run again.');
  return config;
}

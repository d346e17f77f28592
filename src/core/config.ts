import fs from 'node:fs';
import path from 'node:path';
import { parseDurationMs } from './duration.js';
import { PARSE_HINT, scanEnvFile, splitWords, type EnvEntry } from './envfile.js';
import { Problems, UserError, warningSection } from './errors.js';
import { urlCredentials } from './secrets.js';
import { historyPolicySetting, signatureSettings, type HistoryPolicy, type SignatureSettings } from './signature-config.js';
import { nearest } from './suggest.js';

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
  'ALLOWED_SIGNERS', 'REVOKED_SIGNERS', 'SIGNATURE_POLICY', 'HISTORY_POLICY',
  'METRICS_DIR', 'PIN',
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
  /** The signature policy (DESIGN.md §11); undefined when ALLOWED_SIGNERS is not set. */
  signatures: SignatureSettings | undefined;
  /** HISTORY_POLICY as set; undefined: forward with ALLOWED_SIGNERS, else any (update/history.ts). */
  historyPolicy?: HistoryPolicy;
  /** node_exporter's textfile directory: each run rewrites alphacore_<ns>.prom there (§12). */
  metricsDir: string | undefined;
  /** PIN (DESIGN.md §13): the commit this host stays on whatever the branch does. */
  pin: string | undefined;
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

/** Names that become file names and PM2 names: namespace, process. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A commit named by its sha, full or abbreviated (PIN, update --to). */
export const COMMIT_SHA = /^[0-9a-f]{7,40}$/i;

/**
 * Wallet, hotkey and network names become parts of paths and file names
 * (`env/<network>/validator-<wallet>-<hotkey>.env`, the wallet's own folder). Only
 * what breaks a path or a file is refused; spaces and the rest that the bash
 * launcher accepts are kept and quoted wherever they are written (DESIGN.md §4).
 */
export function fileNameProblem(value: string): string | undefined {
  if (/[\n\r]/.test(value)) return 'contains a newline';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'contains a control character';
  if (value.includes('/')) return "contains '/', which would make it a path";
  if (value.startsWith('-')) return "starts with '-', which a program would read as a flag";
  if (value.startsWith('.')) return "starts with '.', which makes a hidden or relative path";
  return undefined;
}
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

/**
 * A value as a message shows it: the credentials of a URL masked, and clipped, so that
 * a 1 MB value or a pasted secret never floods (or leaks into) the terminal and the log.
 */
export function shown(value: string): string {
  const creds = urlCredentials(value);
  const masked = creds ? value.replace(`${creds}@`, '***@') : value;
  return masked.length > 120 ? `${masked.slice(0, 100)}... (${masked.length} characters)` : masked;
}

/** Subnet uids are 16-bit on the chain. */
export const MAX_NETUID = 65535;
export function isNetuid(value: string): boolean {
  return /^\d{1,5}$/.test(value) && Number(value) <= MAX_NETUID;
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
  const { values, unknown, warnings } = configValues(text, file, env, overrides, paths.home);
  return validateConfig(file, values, unknown, env, paths, warnings);
}

/**
 * What is odd but not wrong in a config: a key this version does not know (with the
 * nearest known key, `NETWROK` -> `NETWORK`) and a key given twice (the last wins, as
 * when a shell sources the file). Said also when errors stop the run.
 */
export function configWarnings(entries: readonly EnvEntry[], file: string): string[] {
  const warnings: string[] = [];
  const known = new Set<string>(CONFIG_KEYS);
  const lines = new Map<string, number[]>();
  for (const e of entries) lines.set(e.key, [...(lines.get(e.key) ?? []), e.line]);
  for (const [key, at] of lines) {
    if (!known.has(key)) {
      const near = nearest(key, CONFIG_KEYS);
      warnings.push(`${file}:${at[0]}: unknown key ${key}${near ? ` (did you mean ${near}?)` : ''}; it is ignored.`);
    }
    if (at.length > 1) warnings.push(`${file}: ${key} is given ${at.length} times (lines ${at.join(', ')}); the last one (line ${at.at(-1)}) wins, as in a shell. Delete the others.`);
  }
  return warnings;
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
): ConfigRead {
  const read = scanConfig(text, file, env, overrides, home);
  if (read.problems.length > 0) {
    throw new UserError(`Cannot read ${file}:\n${read.problems.map((p) => `  - ${p}`).join('\n')}${warningSection(read.warnings)}`, {
      hint: PARSE_HINT,
      problems: read.problems,
      warnings: read.warnings,
    });
  }
  return read;
}

export interface ConfigRead {
  values: Partial<Record<ConfigKey, string>>;
  unknown: string[];
  warnings: string[];
  /** Lines that could not be read (file:line: why); configValues throws them. */
  problems: string[];
}

/** configValues without the throw: the good lines' values and every bad line (status shows both). */
export function scanConfig(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  overrides: ConfigOverrides,
  home: string,
): ConfigRead {
  const values: Partial<Record<ConfigKey, string>> = {};
  const known = new Set<string>(CONFIG_KEYS);
  const unknown: string[] = [];
  const { entries, problems } = scanEnvFile(text.replace(/^\uFEFF/, ''), { source: file, home });
  for (const entry of entries) {
    if (known.has(entry.key)) values[entry.key as ConfigKey] = entry.value;
    else if (!unknown.includes(entry.key)) unknown.push(entry.key);
  }
  for (const key of CONFIG_KEYS) {
    const fromEnv = env[key];
    if (fromEnv !== undefined && fromEnv !== '') values[key] = fromEnv;
  }
  if (overrides.repoDir) values.REPO_DIR = overrides.repoDir;
  if (overrides.remote) values.REMOTE = overrides.remote;
  if (overrides.branch) values.BRANCH = overrides.branch;
  return { values, unknown, warnings: configWarnings(entries, file), problems };
}

/** Applies the defaults and checks every key; all problems at once (UserError, exit 2). */
/** The port of a plain-http Validation API endpoint on this machine (loopback or 0.0.0.0), else undefined. */
function localEndpointPort(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]', '0.0.0.0'].includes(url.hostname)) return undefined;
  return url.port || '80';
}

/**
 * The port to start the Validation API on when VALIDATION_HTTP_PORT does not say: that of
 * a plain-http endpoint on this machine, the one the gate and the health check poll,
 * unless it is the repo script's default 8888. undefined for another host or https (a
 * TLS proxy in front of the API: its port is the proxy's).
 */
export function localApiPort(endpoint: string): string | undefined {
  const port = localEndpointPort(endpoint);
  return port === '8888' ? undefined : port;
}

export function validateConfig(
  file: string,
  values: Partial<Record<ConfigKey, string>>,
  unknown: string[],
  env: Readonly<Record<string, string | undefined>>,
  paths: { lock(ns: string): string },
  warnings: readonly string[] = [],
): AutoupdateConfig {
  const problems = new Problems();
  const extraWarnings: string[] = [];
  const get = (key: ConfigKey): string | undefined => values[key] || undefined;

  for (const key of ['NETWORK', 'WALLET_NAME', 'WALLET_HOTKEY', 'NETUID'] as const) {
    if (!get(key)) problems.add(`${key} is required (add ${key}=... to ${file}).`);
  }
  const network = get('NETWORK');
  // The bash launcher's rule: any network, as long as the chain endpoint is explicit.
  if (network && !(NETWORKS as readonly string[]).includes(network) && !get('CHAIN_ENDPOINT')) {
    problems.add(`NETWORK=${shown(network)} is not one of ${NETWORKS.join(', ')}, so CHAIN_ENDPOINT is required: add CHAIN_ENDPOINT=wss://... to ${file}.`);
  }
  for (const key of ['NETWORK', 'WALLET_NAME', 'WALLET_HOTKEY'] as const) {
    const v = get(key);
    const why = v === undefined ? undefined : fileNameProblem(v);
    if (why && v !== undefined) problems.add(`${key}=${JSON.stringify(shown(v))} ${why}.`);
  }
  const netuid = get('NETUID');
  if (netuid && !isNetuid(netuid)) problems.add(`NETUID=${shown(netuid)} must be a subnet uid, an integer 0-${MAX_NETUID}.`);
  const creds = get('GCP_CREDS_FILE');
  if (creds) {
    if (!fs.existsSync(creds)) problems.add(`GCP_CREDS_FILE=${shown(creds)} does not exist; point it at the service-account JSON key.`);
  } else if (!env.GOOGLE_OAUTH_ACCESS_TOKEN) {
    problems.add('GCP_CREDS_FILE is required (or GOOGLE_OAUTH_ACCESS_TOKEN in the environment).');
  }
  const namespace = namespaceOf(values);
  if (!NAME.test(namespace)) problems.add(`PM2_NAMESPACE=${shown(namespace)} may only hold letters, digits, '_', '.', '-'.`);
  const repoDir = get('REPO_DIR');
  if (!repoDir) problems.add(`REPO_DIR is required (add REPO_DIR=/path/to/alphacore to ${file}, or pass --repo-dir).`);
  else if (!path.isAbsolute(repoDir)) problems.add(`REPO_DIR=${shown(repoDir)} must be an absolute path.`);
  else if (!fs.existsSync(path.join(repoDir, '.git'))) problems.add(`REPO_DIR=${shown(repoDir)} is not a git clone (no .git); pass the deploy clone of AlphaCore.`);
  const remote = get('REMOTE') ?? DEFAULTS.REMOTE;
  if (!NAME.test(remote)) problems.add(`REMOTE=${shown(remote)} is not a valid remote name.`);
  const branch = get('BRANCH') ?? DEFAULTS.BRANCH;
  if (!GIT_REF.test(branch)) problems.add(`BRANCH=${shown(branch)} is not a valid branch name.`);
  const chain = get('CHAIN_ENDPOINT');
  if (chain && !isUrl(chain, ['ws:', 'wss:'])) problems.add(`CHAIN_ENDPOINT=${shown(chain)} must be a ws:// or wss:// URL.`);
  const profile = get('PROFILE');
  if (profile && !(PROFILES as readonly string[]).includes(profile)) problems.add(`PROFILE=${shown(profile)} is not one of ${PROFILES.join(', ')}.`);
  const apiEndpoint = (get('VALIDATION_API_ENDPOINT') ?? DEFAULTS.VALIDATION_API_ENDPOINT).replace(/\/+$/, '');
  if (!isUrl(apiEndpoint, ['http:', 'https:'])) problems.add(`VALIDATION_API_ENDPOINT=${shown(apiEndpoint)} must be an http:// or https:// URL.`);
  const webhook = get('NOTIFY_WEBHOOK_URL');
  if (webhook && !isUrl(webhook, ['http:', 'https:'])) problems.add('NOTIFY_WEBHOOK_URL must be an http:// or https:// URL.');
  for (const key of ['VALIDATOR_HTTP_PORT', 'VALIDATION_HTTP_PORT'] as const) {
    const v = get(key);
    if (v && !(/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535)) problems.add(`${key}=${shown(v)} must be a port number 1-65535.`);
  }
  // The API is started on VALIDATION_HTTP_PORT (else the endpoint's port, see localApiPort)
  // and waited for on the endpoint: two different local ports can only fail the health check.
  const apiPort = get('VALIDATION_HTTP_PORT');
  const polled = localEndpointPort(apiEndpoint);
  if (apiPort && polled && apiPort !== polled) {
    extraWarnings.push(`VALIDATION_HTTP_PORT=${apiPort} but VALIDATION_API_ENDPOINT=${apiEndpoint} is port ${polled} of this machine: an update starts the API on ${apiPort} and waits for it on ${polled}, and fails. Make them agree (or remove VALIDATION_HTTP_PORT: the endpoint's port is used).`);
  }
  // PM2 names hold what wallet names hold (the default is validator-<hotkey>-<network>); PM2 makes log file names of them.
  for (const key of ['VALIDATOR_PROCESS_NAME', 'VALIDATION_PROCESS_NAME'] as const) {
    const v = get(key);
    const why = v === undefined ? undefined : fileNameProblem(v);
    if (why && v !== undefined) problems.add(`${key}=${JSON.stringify(shown(v))} ${why}.`);
  }
  const duration = (key: 'ROUND_LOCK_MAX_AGE' | 'HEALTH_TIMEOUT' | 'HEALTH_STABLE' | 'MAX_DEFERRAL'): number => {
    const raw = get(key) ?? DEFAULTS[key];
    const ms = parseDurationMs(raw);
    if (ms === undefined || ms <= 0) {
      problems.add(`${key}=${shown(raw)} is not a time span; use systemd syntax such as 90s, 2m, 6h.`);
      return 0;
    }
    return ms;
  };
  const mode = (key: 'SANDBOX_SETUP' | 'DEPS_REFRESH'): RefreshMode => {
    const raw = get(key) ?? DEFAULTS[key];
    if (raw !== 'auto' && raw !== 'always' && raw !== 'never') {
      problems.add(`${key}=${shown(raw)} must be auto, always or never.`);
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
  const metricsDir = get('METRICS_DIR');
  if (metricsDir && !path.isAbsolute(metricsDir)) problems.add(`METRICS_DIR=${metricsDir} must be an absolute path (node_exporter's --collector.textfile.directory).`);
  const pin = get('PIN');
  if (pin && !COMMIT_SHA.test(pin)) problems.add(`PIN=${shown(pin)} is not a commit sha (7 to 40 hex digits); pin the deployed commit with PIN=$(git -C <repo> rev-parse HEAD), or remove the line to follow ${branch}.`);
  const logMaxRaw = get('LOG_MAX_BYTES') ?? DEFAULTS.LOG_MAX_BYTES;
  const logMaxBytes = parseBytes(logMaxRaw);
  if (logMaxBytes === undefined || logMaxBytes < 1024) problems.add(`LOG_MAX_BYTES=${shown(logMaxRaw)} must be a size of at least 1K (e.g. 5M).`);

  const signatures = signatureSettings(get, (text) => problems.add(text));
  const historyPolicy = historyPolicySetting(get('HISTORY_POLICY'), (text) => problems.add(text));

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
    signatures,
    ...(historyPolicy ? { historyPolicy } : {}),
    metricsDir,
    pin,
    unknownKeys: unknown,
    warnings: [...warnings, ...extraWarnings],
    secrets: [get('ALPHACORE_OPENAI_API_KEY'), webhook, env.GOOGLE_OAUTH_ACCESS_TOKEN].filter((s): s is string => Boolean(s && s.length >= 4)),
  };
  problems.throwIfAny(`Invalid auto-update config ${file}:`, 'Fix the keys above in the file (or the environment variable of the same name) and run again.', warnings);
  return config;
}

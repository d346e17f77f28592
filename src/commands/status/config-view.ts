import fs from 'node:fs';
import { DEFAULTS, namespaceOf, scanConfig, validateConfig, type ConfigKey } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { parseDurationMs } from '../../core/duration.js';
import { UserError } from '../../core/errors.js';
import type { SignatureSettings } from '../../core/signature-config.js';
import type { ConfigSummary } from './report.js';

/**
 * What status needs from the auto-update config. Unlike `update`, status must show
 * what it can even when the config is missing or fails validation (a REPO_DIR that
 * moved, a creds file deleted): it falls back to the raw values and the defaults.
 */
export interface ConfigView {
  summary: ConfigSummary;
  namespace: string;
  repoDir?: string;
  remote: string;
  branch: string;
  apiEndpoint: string;
  /** VALIDATION_HTTP_PORT, when the config sets it (the API's port, §5.6). */
  apiHttpPort?: string;
  roundLockfile: string;
  roundLockMaxAgeMs: number;
  maxDeferralMs: number;
  /** The PM2 names the config gives its processes (advice names them, §7). */
  validatorProcessName?: string;
  validationProcessName: string;
  /** The signature policy, when the config is valid and sets ALLOWED_SIGNERS. */
  signatures?: SignatureSettings;
  /** PIN (DESIGN.md §13): the commit the updater keeps this host on. */
  pin?: string;
}

const HOUR = 3_600_000;

/**
 * `--config FILE` names the file; else the namespace's default config. A file that
 * cannot be read is a UserError (exit 2), as for every command; a missing default file
 * means launch never ran for this namespace (not an error here). A file with lines that
 * do not parse is shown as invalid, with those lines, like one that fails validation:
 * status reports what every update run will stop on.
 */
export function readConfigView(ctx: Context, options: { config?: string; namespace: string }): ConfigView {
  const file = options.config ?? ctx.paths.autoupdateConfig(options.namespace);
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (options.config !== undefined || code !== 'ENOENT') {
      throw new UserError(code === 'ENOENT' ? `--config: ${file} does not exist.` : `cannot read the auto-update config ${file} (${code}).`, {
        hint: 'Pass the auto-update config that `alphacore launch` wrote, or --namespace NS for ~/.config/alphacore/autoupdate/NS.env.',
      });
    }
  }

  const { values, unknown, warnings, problems } = scanConfig(text ?? '', file, ctx.env, {}, ctx.paths.home);
  let summary: ConfigSummary = { file, state: text === undefined ? 'missing' : 'ok', problems: [], ...(warnings.length ? { warnings } : {}) };
  if (text !== undefined && problems.length > 0) {
    // Validation would only add noise about keys on the lines that did not parse.
    summary = { ...summary, state: 'invalid', problems };
  } else if (text !== undefined) {
    try {
      const config = validateConfig(file, values, unknown, ctx.env, ctx.paths, warnings);
      return {
        summary,
        namespace: config.namespace,
        repoDir: config.repoDir,
        remote: config.remote,
        branch: config.branch,
        apiEndpoint: config.validationApiEndpoint,
        ...(config.values.VALIDATION_HTTP_PORT ? { apiHttpPort: config.values.VALIDATION_HTTP_PORT } : {}),
        roundLockfile: config.roundLockfile,
        roundLockMaxAgeMs: config.roundLockMaxAgeMs,
        maxDeferralMs: config.maxDeferralMs,
        validatorProcessName: config.validatorProcessName,
        validationProcessName: config.validationProcessName,
        ...(config.signatures ? { signatures: config.signatures } : {}),
        ...(config.pin ? { pin: config.pin } : {}),
      };
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      summary = { ...summary, state: 'invalid', problems: error.problems.length > 0 ? error.problems : [error.message] };
    }
  }
  const get = (key: ConfigKey): string | undefined => values[key] || undefined;
  const span = (key: 'ROUND_LOCK_MAX_AGE' | 'MAX_DEFERRAL') => parseDurationMs(get(key) ?? DEFAULTS[key]) || 6 * HOUR;
  return {
    summary,
    // Without a file the namespace is the one asked for; a file names its own.
    namespace: text === undefined ? options.namespace : namespaceOf(values),
    repoDir: get('REPO_DIR'),
    remote: get('REMOTE') ?? DEFAULTS.REMOTE,
    branch: get('BRANCH') ?? DEFAULTS.BRANCH,
    apiEndpoint: (get('VALIDATION_API_ENDPOINT') ?? DEFAULTS.VALIDATION_API_ENDPOINT).replace(/\/+$/, ''),
    ...(get('VALIDATION_HTTP_PORT') ? { apiHttpPort: get('VALIDATION_HTTP_PORT') } : {}),
    roundLockfile: get('VALIDATOR_ROUND_LOCKFILE') ?? DEFAULTS.VALIDATOR_ROUND_LOCKFILE,
    roundLockMaxAgeMs: span('ROUND_LOCK_MAX_AGE'),
    maxDeferralMs: span('MAX_DEFERRAL'),
    validatorProcessName: get('VALIDATOR_PROCESS_NAME') ?? (get('WALLET_HOTKEY') && get('NETWORK') ? `validator-${get('WALLET_HOTKEY')}-${get('NETWORK')}` : undefined),
    validationProcessName: get('VALIDATION_PROCESS_NAME') ?? DEFAULTS.VALIDATION_PROCESS_NAME,
  };
}

import { readConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
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
  /** RESTART_POLICY of a valid config (DESIGN.md §14). */
  restartPolicy?: 'prompt' | 'coalesce';
}

/**
 * `--config FILE` names the file; else the namespace's default config. A file that
 * cannot be read is a UserError (exit 2), as for every command; a missing default file
 * means launch never ran for this namespace (not an error here). The config is read in
 * salvage mode: a file with lines that do not parse or values that fail validation is
 * shown as invalid, with those problems (what every update run will stop on), and the
 * rest still comes from it, each wrong value replaced by its default.
 */
export function readConfigView(ctx: Context, options: { config?: string; namespace: string }): ConfigView {
  const file = options.config ?? ctx.paths.autoupdateConfig(options.namespace);
  const reading = readConfig({ file, env: ctx.env, paths: ctx.paths }, 'salvage');
  if (reading.found === 'unreadable' || (reading.found === 'missing' && options.config !== undefined)) {
    throw new UserError(reading.found === 'missing' ? `--config: ${file} does not exist.` : `cannot read the auto-update config ${file} (${reading.readError}).`, {
      hint: 'Pass the auto-update config that `alphacore launch` wrote, or --namespace NS for ~/.config/alphacore/autoupdate/NS.env.',
    });
  }
  const { config, warnings, problems, given } = reading;
  const missing = reading.found === 'missing';
  const summary: ConfigSummary = {
    file,
    state: missing ? 'missing' : problems.length > 0 ? 'invalid' : 'ok',
    problems,
    ...(warnings.length ? { warnings } : {}),
  };
  const valid = summary.state === 'ok';
  return {
    summary,
    // Without a file the namespace is the one asked for; a file names its own.
    namespace: missing ? options.namespace : config.namespace,
    ...(given.has('REPO_DIR') ? { repoDir: config.repoDir } : {}),
    remote: config.remote,
    branch: config.branch,
    apiEndpoint: config.validationApiEndpoint,
    // A value the reader refused (not a port) is left out: the API's default port applies.
    ...(config.given.validationHttpPort && /^\d+$/.test(config.given.validationHttpPort) ? { apiHttpPort: config.given.validationHttpPort } : {}),
    roundLockfile: config.roundLockfile,
    roundLockMaxAgeMs: config.roundLockMaxAgeMs,
    maxDeferralMs: config.maxDeferralMs,
    // The default name needs the hotkey and the network; without them it is unknown.
    ...(given.has('VALIDATOR_PROCESS_NAME') || (config.walletHotkey && config.network) ? { validatorProcessName: config.validatorProcessName } : {}),
    validationProcessName: config.validationProcessName,
    ...(valid && config.signatures ? { signatures: config.signatures } : {}),
    ...(valid && config.pin ? { pin: config.pin } : {}),
    ...(valid ? { restartPolicy: config.restart.policy } : {}),
  };
}

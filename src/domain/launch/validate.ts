import path from 'node:path';
import { fileNameProblem, isNetuid, isUrl, MAX_NETUID, NAME } from '../../core/config.js';
import { parseAllowedSigners } from '../../core/allowed-signers.js';
import { RESTART_POLICIES, type RestartPolicy } from '../../core/restart-config.js';
import { Problems } from '../../core/errors.js';
import { intervalProblem } from '../../core/interval.js';
import { nearest } from '../../core/suggest.js';
import { LAUNCH_OPTIONS, type LaunchArgs } from './options.js';
import { INCOMPLETE_MARKER } from './venv.js';
import { walletProblems } from './wallet.js';
import { launchWriteProblems, type WriteFacts } from './writable.js';

/** What validation may look at besides the flags; tests pass temp dirs. */
export interface LaunchFacts extends WriteFacts {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  cwd: string;
  /** The toolkit's private state folder (~/.local/state/alphacore/autoupdate, the default): the default round lockfile lives there. */
  stateDir?: string;
  /** The deploy clone (absolute), or why it could not be determined. */
  repoDir?: string;
  repoProblem?: string;
  exists(file: string): boolean;
  readText(file: string): string | undefined;
  /** Entry names of a folder, for "did you mean" (optional: without it none is suggested). */
  listDir?(dir: string): string[];
  /** The scheduler launch would install (systemd when `systemctl --user` answers, else cron); undefined: not probed. */
  scheduler?: 'systemd' | 'cron';
}

/** Validated launch settings, every default resolved (DESIGN.md §4). */
export interface LaunchOptions {
  repoDir: string;
  /** local, test, finney, or any other name given with an explicit --chain-endpoint. */
  network: string;
  walletName: string;
  hotkey: string;
  netuid: string;
  chainEndpoint: string;
  profile: string;
  validatorSa: string;
  /** Where the service account came from: only flag/env values must be carried to a relaunch. */
  validatorSaSource: 'flag' | 'env' | 'creds';
  gcpCredsFile?: string;
  validationApiEndpoint: string;
  validationApiEnabled: boolean;
  processName: string;
  namespace: string;
  envFile: string;
  envFileGiven: boolean;
  httpPort: string;
  httpPortGiven: boolean;
  walletPath: string;
  venvDir: string;
  autoupdate: boolean;
  autoupdateInterval: string;
  enableLinger: boolean;
  enableLlm: boolean;
  llmFallback: boolean;
  /** Given by --openai-api-key (written to the validator env file). */
  openaiApiKeyFlag?: string;
  /** Flag, else ALPHACORE_OPENAI_API_KEY, else OPENAI_API_KEY. */
  openaiApiKey?: string;
  promptPostprocess: string;
  register: boolean;
  yes: boolean;
  timed: boolean;
  tickSeconds: string;
  tickSecondsGiven: boolean;
  epochSlots: string;
  epochSlotsGiven: boolean;
  epochSlotIndex?: string;
  weightsMinTasksBeforeEmit?: string;
  roundLockfile: string;
  /** --entrypoint (relative to the clone, as launch_pm2.sh takes it); undefined: the ecosystem file's default. */
  entrypoint?: string;
  replace: boolean;
  /** --allowed-signers (absolute) and --signature-policy, written to the auto-update config (DESIGN.md §11). */
  allowedSigners?: string;
  signaturePolicy?: 'tip' | 'all';
  /** METRICS_DIR to write into the auto-update config (only when --metrics-dir is given). */
  metricsDir?: string;
  /** RESTART_POLICY to write into the auto-update config (only when --restart-policy is given). */
  restartPolicy?: RestartPolicy;
  dryRun: boolean;
}

export const NETWORK_ENDPOINTS = {
  local: 'ws://127.0.0.1:9944',
  test: 'wss://testnet-finney.opentensor.io:443',
  finney: 'wss://finney.opentensor.io:443',
} as const;
export const PLACEHOLDER_SAS = ['validator@example.com', 'your-validator-sa@project.iam.gserviceaccount.com'];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** `~` and relative paths as the operator means them. */
function absolute(p: string, facts: LaunchFacts): string {
  const expanded = p === '~' ? facts.home : p.startsWith('~/') ? path.join(facts.home, p.slice(2)) : p;
  return path.resolve(facts.cwd, expanded);
}

function clientEmail(file: string, facts: LaunchFacts): { email?: string; error?: string } {
  const text = facts.readText(file);
  if (text === undefined) return { error: 'cannot be read' };
  try {
    const email = (JSON.parse(text) as { client_email?: unknown }).client_email;
    return typeof email === 'string' && email.trim() ? { email: email.trim() } : { error: 'has no client_email' };
  } catch {
    return { error: 'is not JSON' };
  }
}

/**
 * Flags + environment -> settings. Every problem is collected and reported at once
 * (UserError, exit 2). `relaunch` (the updater's restart) skips what only a first
 * launch needs: the scheduler interval and the creds the updater itself will need.
 */
export function resolveLaunchOptions(args: LaunchArgs, facts: LaunchFacts, purpose: 'launch' | 'relaunch' = 'launch'): LaunchOptions {
  const p = new Problems();
  const env = (key: string): string | undefined => facts.env[key] || undefined;
  for (const word of args.unknown) {
    const near = word.startsWith('--') ? nearest(word.slice(2).split('=')[0]!, Object.keys(LAUNCH_OPTIONS)) : undefined;
    p.add(`${word}: unknown ${word.startsWith('-') ? 'flag' : 'argument'}${near ? ` (did you mean --${near}?)` : ''}; see alphacore launch --help.`);
  }
  // Flags typed with no value; a repeated flag only from the operator (a relaunch's config keeps its "last wins").
  for (const problem of [...(args.usage?.problems ?? []), ...(purpose === 'launch' ? (args.usage?.repeated ?? []) : [])]) p.add(problem);
  for (const [key, value] of Object.entries(args)) {
    if (typeof value === 'string' && /[\n\r\0]/.test(value)) p.add(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} contains a newline; pass it on one line.`);
  }
  const required = (flag: string, value: string | undefined, example: string): string => {
    if (!value && !args.usage?.valueless.includes(flag)) p.add(`--${flag} is required (e.g. --${flag} ${example}).`);
    return value ?? '';
  };
  const walletName = required('wallet-name', args.walletName, 'my-coldkey');
  const hotkey = required('hotkey', args.hotkey, 'my-hotkey');
  const netuid = required('netuid', args.netuid, '66');
  const networkRaw = required('network', args.network, 'finney');
  // Refused only for what breaks a path or a file; quoted wherever written (launch_validator.sh checks nothing).
  for (const [flag, v] of [['wallet-name', args.walletName], ['hotkey', args.hotkey], ['network', args.network]] as const) {
    const why = v ? fileNameProblem(v) : undefined;
    if (why) p.add(`--${flag} ${JSON.stringify(v)} ${why} (it names files and the PM2 process).`);
  }
  if (netuid && !isNetuid(netuid)) p.add(`--netuid ${netuid} must be a subnet uid, an integer 0-${MAX_NETUID}.`);
  const network = networkRaw;
  const known = Object.hasOwn(NETWORK_ENDPOINTS, network) ? NETWORK_ENDPOINTS[network as keyof typeof NETWORK_ENDPOINTS] : undefined;
  // launch_validator.sh: any network name, as long as the endpoint is explicit.
  if (networkRaw && !known && !args.chainEndpoint) {
    p.add(`--network ${networkRaw} is not one of local, test, finney, so it has no default endpoint: pass --chain-endpoint ws://... or wss://... as well.`);
  }
  const chainEndpoint = args.chainEndpoint ?? known ?? '';
  if ((args.chainEndpoint !== undefined || known) && !isUrl(chainEndpoint, ['ws:', 'wss:'])) {
    p.add(`--chain-endpoint ${chainEndpoint} must be a ws:// or wss:// URL (e.g. ${known ?? NETWORK_ENDPOINTS.finney}).`);
  }
  const profile = args.profile ?? (network === 'local' ? 'local' : 'testing');
  if (!['local', 'testing', 'production'].includes(profile)) p.add(`--profile ${profile} is not one of local, testing, production.`);

  let gcpCredsFile: string | undefined;
  let credsEmail: { email?: string; error?: string } = {};
  if (args.gcpCredsFile !== undefined) {
    gcpCredsFile = absolute(args.gcpCredsFile, facts);
    if (!args.gcpCredsFile || !facts.exists(gcpCredsFile)) p.add(`--gcp-creds-file ${args.gcpCredsFile} does not exist; pass the path of the service-account JSON key.`);
    else credsEmail = clientEmail(gcpCredsFile, facts);
  } else if (args.autoupdate && purpose === 'launch' && !env('GOOGLE_OAUTH_ACCESS_TOKEN')) {
    p.add('--gcp-creds-file is required for auto-update (the updater restarts the Validation API with it); pass it, or --no-autoupdate.');
  }

  let validatorSa = args.validatorSa ?? '';
  let validatorSaSource: LaunchOptions['validatorSaSource'] = 'flag';
  if (args.validatorSa === undefined) {
    // An env placeholder is a leftover template: fall through to the creds file, as the bash launcher does.
    const fromEnv = env('ALPHACORE_VALIDATOR_SA');
    if (fromEnv && !PLACEHOLDER_SAS.includes(fromEnv)) [validatorSa, validatorSaSource] = [fromEnv, 'env'];
    else if (credsEmail.email) [validatorSa, validatorSaSource] = [credsEmail.email, 'creds'];
  }
  if (!validatorSa) {
    const why = gcpCredsFile && credsEmail.error ? ` (${args.gcpCredsFile} ${credsEmail.error})` : '';
    p.add(`--validator-sa is required${why}: pass the service account email, set ALPHACORE_VALIDATOR_SA, or pass --gcp-creds-file with a client_email.`);
  } else if (PLACEHOLDER_SAS.includes(validatorSa)) p.add(`--validator-sa ${validatorSa} is the documentation placeholder; pass your validator's service account email.`);
  else if (!EMAIL.test(validatorSa)) p.add(`--validator-sa ${validatorSa} does not look like an email address (name@project.iam.gserviceaccount.com).`);

  const validationApiEndpoint = args.validationApiEndpoint ?? 'http://127.0.0.1:8888';
  if (!isUrl(validationApiEndpoint, ['http:', 'https:'])) p.add(`--validation-api-endpoint ${validationApiEndpoint} must be an http:// or https:// URL.`);

  const processName = args.processName ?? `validator-${hotkey}-${networkRaw}`;
  const processProblem = args.processName !== undefined ? fileNameProblem(processName) : undefined;
  if (processProblem) p.add(`--process-name ${JSON.stringify(processName)} ${processProblem} (PM2 names its log files after it).`);
  const namespace = args.pm2Namespace ?? env('PM2_NAMESPACE') ?? 'alphacore';
  if (!NAME.test(namespace)) p.add(`--pm2-namespace ${namespace}: use letters, digits, '_', '.', '-' only.`);
  const httpPort = args.httpPort ?? '8000';
  if (!/^\d+$/.test(httpPort) || Number(httpPort) < 1 || Number(httpPort) > 65535) p.add(`--http-port ${httpPort} must be an integer port 1-65535.`);

  const repoDir = facts.repoDir ?? '';
  if (facts.repoProblem) p.add(facts.repoProblem);
  // PM2 (7.x) splits a script path at whitespace when an interpreter is set: it then runs
  // bash on bash ("cannot execute binary file") and the validator crash-loops. The bash
  // launcher fails the same way; say so before anything starts.
  else if (/\s/.test(repoDir)) p.add(`--repo-dir ${JSON.stringify(repoDir)} contains whitespace, which PM2 cannot start a script from (it crash-loops); clone the deploy repository to a path without spaces, e.g. ~/AlphaCore.`);
  else if (!facts.exists(path.join(repoDir, 'scripts', 'validator', 'process', 'start_validator_pm2.sh'))) {
    p.add(`--repo-dir ${repoDir} has no scripts/validator/process/start_validator_pm2.sh; pass the deploy clone of AlphaCore.`);
  }
  const envFile = args.envOut ? absolute(args.envOut, facts) : path.join(repoDir, 'env', networkRaw, `validator-${walletName}-${hotkey}.env`);
  if (args.envOut === '') p.add('--env-out needs a path.');
  const walletPath = absolute(args.walletPath || env('BT_WALLET_PATH') || '~/.bittensor/wallets', facts);
  // A relaunch keeps going whatever the keys look like: the update must not turn a missing hotkey into a down validator.
  if (purpose === 'launch' && walletName && hotkey && !fileNameProblem(walletName) && !fileNameProblem(hotkey)) {
    const walletPathFrom = args.walletPath ? 'from --wallet-path' : env('BT_WALLET_PATH') ? 'from BT_WALLET_PATH' : 'the default';
    for (const problem of walletProblems({ walletPath, walletName, hotkey, walletPathFrom }, facts)) p.add(problem);
  }
  let venvDir: string;
  if (args.venvDir) venvDir = absolute(args.venvDir, facts);
  else {
    // The bash launcher's order: a sibling local-development venv, else <repo>/venv.
    const sibling = path.resolve(repoDir, '..', 'local-development', 'venv');
    venvDir = facts.exists(sibling) ? sibling : path.join(repoDir, 'venv');
  }
  if (args.venvDir === '') p.add('--venv-dir needs a path.');

  const autoupdateInterval = args.autoupdateInterval ?? env('ALPHACORE_AUTOUPDATE_INTERVAL') ?? '2m';
  if (args.autoupdate && purpose === 'launch') {
    const from = args.autoupdateInterval !== undefined ? '--autoupdate-interval' : 'ALPHACORE_AUTOUPDATE_INTERVAL';
    const problem = intervalProblem(autoupdateInterval, from, facts.scheduler);
    if (problem) p.add(problem);
  }

  const enableLlm = !args.disableLlm;
  const openaiApiKey = args.openaiApiKey || env('ALPHACORE_OPENAI_API_KEY') || env('OPENAI_API_KEY');
  if (enableLlm && !openaiApiKey) p.add('An OpenAI key is required for LLM prompt generation: pass --openai-api-key, set OPENAI_API_KEY or ALPHACORE_OPENAI_API_KEY, or use --disable-llm.');
  const promptPostprocess = args.promptPostprocess ?? env('ALPHACORE_PROMPT_POSTPROCESS') ?? 'none';
  if (!['none', 'minimal', 'full'].includes(promptPostprocess)) {
    p.add(`${args.promptPostprocess !== undefined ? '--prompt-postprocess' : 'ALPHACORE_PROMPT_POSTPROCESS'} ${promptPostprocess} is not one of none, minimal, full.`);
  }

  const integer = (flag: string, value: string | undefined, min: number): boolean => {
    if (value === undefined) return true;
    const ok = /^\d+$/.test(value) && Number(value) >= min;
    if (!ok) p.add(`--${flag} ${value} must be an integer of at least ${min}.`);
    return ok;
  };
  const tickSeconds = args.tickSeconds ?? '1200';
  integer('tick-seconds', args.tickSeconds, 1);
  const epochSlots = args.epochSlots ?? (network === 'local' ? '1' : '4');
  const slotsOk = integer('epoch-slots', args.epochSlots, 1);
  if (integer('epoch-slot-index', args.epochSlotIndex, 0) && slotsOk && args.epochSlotIndex !== undefined && Number(args.epochSlotIndex) >= Number(epochSlots)) {
    p.add(`--epoch-slot-index ${args.epochSlotIndex} must be below --epoch-slots (${epochSlots}): 0..${Number(epochSlots) - 1}.`);
  }
  integer('weights-min-tasks-before-emit', args.weightsMinTasksBeforeEmit, 0);
  // Private by default (DESIGN.md §3): /tmp lets another local user plant the file or a symlink.
  const roundLockfile = args.roundLockfile ?? env('VALIDATOR_ROUND_LOCKFILE') ?? path.join(facts.stateDir ?? path.join(facts.home, '.local', 'state', 'alphacore', 'autoupdate'), `${namespace}.round.lock`);
  if (!path.isAbsolute(roundLockfile)) p.add(`--round-lockfile ${roundLockfile} must be an absolute path.`);
  const venvPresent = facts.exists(path.join(venvDir, 'bin', 'activate')) && !facts.exists(path.join(venvDir, INCOMPLETE_MARKER));
  const writes = { repoDir, venvDir, venvPresent, venvFlag: args.venvDir || undefined, envFile, envFlag: args.envOut || undefined, roundLockfile, roundLockfileFlag: args.roundLockfile };
  for (const problem of launchWriteProblems(writes, facts)) p.add(problem);

  if (args.entrypoint !== undefined && (!args.entrypoint || (repoDir && !facts.exists(path.resolve(repoDir, args.entrypoint))))) {
    p.add(`--entrypoint ${args.entrypoint}: no such file in the deploy clone ${repoDir}; pass a path relative to it, e.g. scripts/start_validator.py or neurons/validator.py.`);
  }
  const signing = signingOptions(args, facts, (text) => p.add(text));
  const metricsDir = args.metricsDir ? absolute(args.metricsDir, facts) : undefined;
  if (args.metricsDir === '') p.add("--metrics-dir needs a path: node_exporter's --collector.textfile.directory.");
  else if (metricsDir && !facts.exists(metricsDir)) p.add(`--metrics-dir ${metricsDir} does not exist; create it (writable by this user, readable by node_exporter) or pass node_exporter's --collector.textfile.directory.`);

  const restartPolicy = args.restartPolicy;
  if (restartPolicy !== undefined && !(RESTART_POLICIES as readonly string[]).includes(restartPolicy)) {
    p.add(`--restart-policy ${restartPolicy} must be prompt (deploy each release at the first round gap) or coalesce (hold releases while the validator sets weights).`);
  }

  p.throwIfAny('launch: invalid settings (nothing was written or started):', 'Fix the flags above and run again; --help lists every flag.');
  return {
    repoDir, network, walletName, hotkey, netuid, chainEndpoint, profile, validatorSa, validatorSaSource, gcpCredsFile,
    validationApiEndpoint, validationApiEnabled: !args.disableValidationApi, processName, namespace,
    envFile, envFileGiven: Boolean(args.envOut), httpPort, httpPortGiven: args.httpPort !== undefined, walletPath, venvDir,
    autoupdate: args.autoupdate, autoupdateInterval, enableLinger: args.enableLinger, enableLlm, llmFallback: args.allowLlmFallback,
    openaiApiKeyFlag: args.openaiApiKey || undefined, openaiApiKey, promptPostprocess, register: args.register, yes: args.yes,
    timed: args.timed, tickSeconds, tickSecondsGiven: args.tickSeconds !== undefined, epochSlots, epochSlotsGiven: args.epochSlots !== undefined,
    epochSlotIndex: args.epochSlotIndex, weightsMinTasksBeforeEmit: args.weightsMinTasksBeforeEmit,
    roundLockfile, entrypoint: args.entrypoint, replace: args.replace, ...signing, metricsDir,
    ...(restartPolicy !== undefined && (RESTART_POLICIES as readonly string[]).includes(restartPolicy) ? { restartPolicy: restartPolicy as RestartPolicy } : {}),
    dryRun: args.dryRun,
  };
}

/** --allowed-signers FILE [--signature-policy tip|all]: the file must exist and parse, as the updater will read it. */
function signingOptions(args: LaunchArgs, facts: LaunchFacts, problem: (text: string) => void): Pick<LaunchOptions, 'allowedSigners' | 'signaturePolicy'> {
  const policy = args.signaturePolicy;
  if (policy !== undefined && policy !== 'tip' && policy !== 'all') problem(`--signature-policy ${policy} must be tip (check the release deployed) or all (every commit from HEAD to it).`);
  if (args.allowedSigners === undefined) {
    if (policy !== undefined) problem('--signature-policy needs --allowed-signers FILE: without it no signature is checked.');
    return {};
  }
  const file = args.allowedSigners ? absolute(args.allowedSigners, facts) : '';
  const text = file ? facts.readText(file) : undefined;
  if (text === undefined) problem(`--allowed-signers ${args.allowedSigners} does not exist or cannot be read; write the subnet owner's key into it first (README, "Signed releases").`);
  else for (const line of parseAllowedSigners(text, `--allowed-signers ${file}`).problems) problem(line);
  return { allowedSigners: file, ...(policy === 'tip' || policy === 'all' ? { signaturePolicy: policy } : {}) };
}

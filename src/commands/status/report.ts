import type { Pm2LogsView } from '../../domain/pm2-logs.js';
import type { SandboxSudo } from '../../domain/sandbox-sudo.js';
import type { ConfigErrorRecord, Journal, LastRun, QuarantineEntry } from '../../core/state.js';
import type { SchedulerStatus } from '../../scheduler/index.js';
import type { WeightsView } from '../../domain/warmup.js';
import type { RestartWaitView } from './weights-view.js';

/**
 * Everything `alphacore status` shows (DESIGN.md §7). collect.ts fills it, advice.ts
 * derives the advice from it, render.ts turns it into the screen, and `--json` prints
 * it as it is: one object, the same content as the screen.
 */
export interface StatusReport {
  namespace: string;
  /** When the report was made (ISO); every age on the screen is relative to it. */
  now: string;
  config: ConfigSummary;
  repo: RepoView;
  scheduler: SchedulerStatus;
  lastRun?: LastRun;
  /** The last line of the history file: the last run that changed something. */
  lastChange?: { at: string; outcome: string; reason?: string; from?: string; to?: string; /** Validator down (first stop -> online), ms. */ downtimeMs?: number; phasesMs?: Record<string, number> };
  deferral?: DeferralView;
  gates: { roundLock: RoundLockView; api: ApiView };
  pm2: Pm2View;
  quarantine: QuarantineEntry[];
  journal?: JournalView;
  /** The last update run stopped on its config (recorded by the updater: under cron nobody saw it). */
  configError?: ConfigErrorRecord;
  /** The signature policy (DESIGN.md §11), when ALLOWED_SIGNERS is set. */
  signatures?: SignaturesView;
  /**
   * Present when status runs as root for another user's validator (owner of the config
   * or the deploy clone), or with no config: root's PM2, scheduler and state shown are
   * not the validator's. advice[0] says so and gives `command`.
   */
  asRoot?: RootView;
  /** After a run that failed its preflight: whether sudo runs the sandbox setup without a password now. */
  sandboxSudo?: SandboxSudo;
  /** The validator's weights warm-up, read from its log (DESIGN.md §14). */
  weights?: WeightsView;
  /** RESTART_POLICY (prompt when the config does not say or cannot be read). */
  restartPolicy?: 'prompt' | 'coalesce';
  /** A release held back by RESTART_POLICY=coalesce, and why. */
  restartWait?: RestartWaitView;
  /** What to do next, most urgent first; empty when all is well. */
  advice: Advice[];
}

export interface RootView {
  /** The validator's user: the owner's login name, when /etc/passwd has it. */
  user?: string;
  uid?: number;
  /** The file or directory whose owner that is (the config, else the deploy clone). */
  owns?: string;
  /** The same status as that user: `sudo -iu USER alphacore status ...`. */
  command: string;
}

export interface ConfigSummary {
  file: string;
  /** ok; missing (no file: launch never ran for this namespace); invalid (problems below). */
  state: 'ok' | 'missing' | 'invalid';
  /** Lines that do not parse (file:line: why) or keys that fail validation. */
  problems: string[];
  /** Unknown keys (with the nearest known one) and keys given twice. */
  warnings?: string[];
  /** The PM2 names of the config's processes (VALIDATOR_PROCESS_NAME, VALIDATION_PROCESS_NAME). */
  processes?: { validator?: string; validationApi: string };
}

export interface CommitView {
  sha: string;
  short: string;
  subject: string;
  /** Committer time (ISO). */
  time: string;
}

export interface RepoView {
  dir?: string;
  remote: string;
  branch: string;
  head?: CommitView;
  /** REMOTE/BRANCH as of the last fetch: status itself never fetches. */
  target?: CommitView;
  /** When the clone last fetched (FETCH_HEAD's mtime), when known. */
  fetchedAt?: string;
  /** update-available: the target differs from HEAD (ahead, behind or force-pushed). */
  relation: 'up-to-date' | 'update-available' | 'unknown';
  /** PIN in the config (a fleet rollout's hold, DESIGN.md §13): the updater's target instead of the branch. */
  pin?: string;
  /** Why something above is missing. */
  error?: string;
  /** Not read on purpose: root does not run git in another user's clone (the root line says why). */
  notReadAsRoot?: boolean;
}

export interface DeferralView {
  since: string;
  forMs: number;
  maxMs: number;
  /** Deferred for longer than MAX_DEFERRAL. */
  overdue: boolean;
  notified: boolean;
}

export interface RoundLockView {
  file: string;
  state: 'absent' | 'live' | 'stale' | 'unknown';
  detail?: string;
}

export interface ApiView {
  endpoint: string;
  state: 'idle' | 'busy' | 'unknown' | 'unreachable';
  jobs?: number;
  detail?: string;
  /** Who holds the API's port when it is not the API's PM2 process tree (§5.6): then whatever answers is not our API. */
  portTakenBy?: string;
}

export interface Pm2ProcessView {
  name: string;
  pmId: number;
  status: string;
  pid: number;
  restarts: number;
  /** How long the current run has lasted, when PM2 says it is online. */
  uptimeMs?: number;
  /** PM2's out log for the process (pm_out_log_path). */
  outLog?: string;
}

export interface Pm2View {
  /** ok: pm2 answered; not-running: no live daemon for PM2_HOME; unknown: pm2 failed or did not answer. */
  state: 'ok' | 'not-running' | 'unknown';
  detail?: string;
  bin: string;
  home: string;
  processes: Pm2ProcessView[];
  startup: Pm2StartupView;
  /** The size of the namespace's PM2 log files, and whether pm2-logrotate runs. */
  logs?: Pm2LogsView;
}

export interface Pm2StartupView {
  user?: string;
  /** A boot unit made by `pm2 startup` exists for the user; undefined when the user is unknown. */
  configured?: boolean;
  unit?: string;
  /** `pm2 save` has written the process list a reboot restores. */
  saved: boolean;
}

export interface JournalView extends Journal {
  /** The pid that wrote the journal still runs: an update is in progress right now. */
  running: boolean;
}

export interface Advice {
  level: 'error' | 'warn' | 'info';
  /** What is wrong and the command that fixes it. */
  text: string;
}

export interface CommitSignatureView {
  sha: string;
  /** good, unsigned, not-ssh, unknown-key, expired, not-yet-valid, revoked, bad-signature, unverifiable. */
  verdict: string;
  principal?: string;
  fingerprint?: string;
  detail: string;
}

export interface SignaturesView {
  policy: 'tip' | 'all';
  allowedSigners: string;
  revokedSigners?: string;
  head?: CommitSignatureView;
  target?: CommitSignatureView;
  /** Whether update would accept the target now; absent when HEAD is the target (nothing to judge). */
  holds?: boolean;
  /** The commit that fails (the target, or with `all` one between HEAD and it). */
  failing?: CommitSignatureView;
  error?: string;
}

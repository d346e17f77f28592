import { openGit } from '../../adapters/git.js';
import { tryLock } from '../../adapters/lock.js';
import type { Context } from '../../core/context.js';
import { loadConfig, type AutoupdateConfig } from '../../core/config.js';
import { OperationError, UserError } from '../../core/errors.js';
import { UpdateLog } from '../../core/log.js';
import { readState, type UpdateState } from '../../core/state.js';
import { decideGates, decideTarget, EXIT_CODES } from './decide.js';
import { recordRun } from './record.js';
import { refuseRootUpdate } from './refuse-root.js';
import type { RestartDecision } from './restart.js';
import { inspectRoundLock, probeApi, type ApiState } from './gates.js';
import { pickTarget } from './target.js';

export interface UpdateFlags {
  config: string;
  repoDir?: string;
  remote?: string;
  branch?: string;
  /** A commit of REMOTE/BRANCH to deploy instead of its tip (§5 step 5). */
  to?: string;
  dryRun: boolean;
  force: boolean;
  json: boolean;
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '?');

/** The guarded update cycle (DESIGN.md §5). Returns the exit code. */
export async function runUpdate(ctx: Context, flags: UpdateFlags): Promise<number> {
  refuseRootUpdate(ctx); // step 0: before the config, the log, git or PM2
  const log = new UpdateLog(ctx, flags.json);
  let config: AutoupdateConfig;
  try {
    config = loadConfig(flags.config, ctx.env, flags, ctx.paths);
  } catch (error) {
    if (error instanceof UserError) await (await import('../metrics/config-error.js')).recordConfigError(ctx, flags.config);
    if (error instanceof UserError && flags.json) {
      log.event({ event: 'result', outcome: 'invalid-config', reason: error.message, from: null, to: null });
      return EXIT_CODES['invalid-config'];
    }
    throw error;
  }
  log.attach(ctx.paths.log(config.namespace), config.logMaxBytes, config.secrets);
  for (const warning of config.warnings) log.warn(warning);

  const lock = await tryLock(config.lockfile, ctx.env);
  if (!lock) return finish(ctx, log, config, undefined, { outcome: 'locked', reason: 'another update is running' }, undefined, undefined);
  try {
    const state = readState(ctx.paths.state(config.namespace));
    if (state.journal) {
      // A run killed mid-update is finished or rolled back before anything else (§5.1).
      const { from, to } = state.journal;
      const { recoverInterrupted } = await import('./restart.js');
      const recovered = await recoverInterrupted({ ctx, config, log, state });
      if (recovered) return await finish(ctx, log, config, state, recovered, from, to);
    }
    let decision: Awaited<ReturnType<typeof decide>>;
    try {
      decision = await decide(ctx, log, config, state, flags);
    } catch (error) {
      if (!(error instanceof OperationError)) throw error;
      log.error(error.message);
      decision = { decision: { outcome: 'failed', reason: 'error' } };
    }
    return await finish(ctx, log, config, state, decision.decision, decision.from, decision.to);
  } finally {
    await lock.release();
    log.close();
  }
}

async function decide(
  ctx: Context,
  log: UpdateLog,
  config: AutoupdateConfig,
  state: UpdateState,
  flags: UpdateFlags,
): Promise<{ decision: RestartDecision; from?: string; to?: string }> {
  const git = openGit(config.repoDir, ctx.env);
  const dirty = await git.dirtyTrackedFiles();
  if (dirty.length > 0) {
    const list = dirty.slice(0, 5).join(', ') + (dirty.length > 5 ? `, and ${dirty.length - 5} more` : '');
    log.error(`The deploy clone ${config.repoDir} has changes to tracked files (${list}). Commit or discard them (git -C ${config.repoDir} stash); the updater only deploys clean clones.`);
    return { decision: { outcome: 'refused', reason: 'dirty-worktree' } };
  }
  try {
    await git.fetch(config.remote, config.branch);
  } catch (error) {
    log.error(`${(error as Error).message}. Nothing was touched; check the network and that ${config.remote} has a branch ${config.branch}.`);
    return { decision: { outcome: 'failed', reason: 'fetch-failed' } };
  }
  const [from, tip] = await git.revParse(['HEAD', `refs/remotes/${config.remote}/${config.branch}`]);
  // --to or PIN may name another commit of the branch (§5 step 5, §13).
  const picked = await pickTarget(git, log, { branchTip: tip!, to: flags.to, pin: config.pin, remote: config.remote, branch: config.branch, configFile: config.file });
  if (picked.refused) return { decision: picked.refused, from };
  const to = picked.sha;
  const target = decideTarget({
    head: from!,
    target: to!,
    quarantined: state.quarantine.some((q) => q.sha === to),
    force: flags.force,
  });
  if (target) return { decision: target, from, to };

  if (!flags.force) {
    const roundLock = inspectRoundLock(config.roundLockfile, ctx.now().getTime(), config.roundLockMaxAgeMs);
    if (roundLock.kind === 'stale') log.warn(`ignoring stale round lock ${config.roundLockfile}: ${roundLock.detail}`);
    let api: ApiState | undefined;
    if (roundLock.kind !== 'live') {
      api = await probeApi(config.validationApiEndpoint);
      if (api.kind === 'unreachable') {
        log.warn(`Validation API ${config.validationApiEndpoint} did not answer (${api.detail}); treating it as idle, since a broken API is what an update may fix`);
      }
    }
    const gates = decideGates({ roundLock, api });
    if (gates) {
      const detail = roundLock.kind === 'live' ? roundLock.detail : api?.kind === 'busy' ? `${api.jobs} active job(s)` : api?.kind === 'unknown' ? api.detail : '';
      log.info(`update ${short(from)} -> ${short(to)} deferred (${gates.reason}: ${detail}); will retry on the next run`);
      return { decision: gates, from, to };
    }
  } else {
    log.warn('--force: skipping the quarantine and the round/API gates');
  }
  // Step 8a, before the dry-run answer: a dry run must not say would-update for a commit the real run refuses.
  const { checkSignatures } = await import('./signatures.js');
  const unsigned = await checkSignatures({ ctx, config, log, from: from!, to: to!, dryRun: flags.dryRun, git });
  if (unsigned) return { decision: unsigned, from, to };
  if (flags.dryRun) return { decision: { outcome: 'would-update' }, from, to };

  const { restartAt } = await import('./restart.js');
  return { decision: await restartAt({ ctx, config, log, state, from: from!, to: to! }), from, to };
}

async function finish(
  ctx: Context,
  log: UpdateLog,
  config: AutoupdateConfig,
  state: UpdateState | undefined,
  decision: RestartDecision,
  from: string | undefined,
  to: string | undefined,
): Promise<number> {
  const at = ctx.now().toISOString();
  const summary: Record<string, string> = {
    locked: 'another update run holds the lock; nothing to do',
    refused: decision.reason === 'unsigned' ? `refused: ${decision.detail ?? 'the target fails the signature policy'}` : 'refused: the deploy clone is not clean',
    failed: `failed${decision.reason ? `: ${decision.reason}` : ''}`,
    'up-to-date': `up to date at ${short(from)}`,
    skipped: `${short(to)} is quarantined (it was rolled back); waiting for ${config.remote}/${config.branch} to move (or run update --force)`,
    deferred: `deferred ${short(from)} -> ${short(to)}: ${decision.reason}`,
    'would-update': `would update ${short(from)} -> ${short(to)} (dry run, nothing touched)`,
    updated: `updated ${short(from)} -> ${short(to)}`,
    'rolled-back': `rolled back to ${short(from)}; ${short(to)} is quarantined`,
    'invalid-config': `refused: ${decision.reason ?? 'invalid'}; nothing touched`,
  };
  const line = `result: ${decision.outcome} (${summary[decision.outcome] ?? decision.outcome})`;
  if (EXIT_CODES[decision.outcome] === 0) log.info(line);
  else log.error(line);
  log.event({ event: 'result', outcome: decision.outcome, ...(decision.reason ? { reason: decision.reason } : {}), from: from ?? null, to: to ?? null });

  if (state && decision.outcome !== 'locked') await recordRun({ ctx, log, config, state, decision, from, to, at });
  return EXIT_CODES[decision.outcome];
}

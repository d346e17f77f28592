import fs from 'node:fs';
import path from 'node:path';
import type { Interrupts } from '../../adapters/interrupts.js';
import { openGit } from '../../adapters/git.js';
import { openPm2 } from '../../adapters/pm2.js';
import { pm2DaemonLink, type Pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { UpdateLog } from '../../core/log.js';
import { stateWriteProblem, writeState, type UpdateState } from '../../core/state.js';
import type { Decision } from './decide.js';
import type { DeployIo, DeployTimings } from './deploy.js';
import { launchHooks, type LaunchHooks } from './launch-hooks.js';

export interface RunIo {
  ctx: Context;
  config: AutoupdateConfig;
  log: UpdateLog;
  state: UpdateState;
  interrupts?: Interrupts;
}

/** A decision with what the history line records about a swap. */
export type RestartDecision = Decision & {
  /** true when services were stopped or the clone moved: the run goes into the history. */
  changed?: boolean;
  timings?: DeployTimings;
  downtimeMs?: number;
  /** The target was quarantined by this run (said in the summary and the webhook only then). */
  quarantined?: boolean;
  /** A notification this run must not send again (a repeated rollback failure). */
  quiet?: boolean;
};

export interface Session {
  io: DeployIo;
  hooks: LaunchHooks;
  stateFile: string;
  /** Writes the state; returns the error message instead of throwing (a full disk). */
  save(): Promise<string | undefined>;
  /** The run's connection to the PM2 daemon (stop, list, delete, health polls). */
  daemon: Pm2DaemonLink;
  /** Ends the session (closes the daemon connection). */
  close(): void;
}

/**
 * The validator venv for a side of a swap that has no prepared one (its commit has no
 * requirements file, a journal from before §5.4): the config's VALIDATOR_VENV_DIR, else
 * launch's default. The update never rewrites the config (docs/update-cycle.md, "Which
 * venv the config names"), so after updates the key may name an older venv; it is kept
 * while the config names it. Only when the folder it names is gone (removed by an older
 * updater) and the state records the complete prepared venv the validator runs on, that
 * one: a relaunch into a missing path would start a validator that cannot run.
 * `override` is set only then, for the relaunch (which otherwise reads the config itself).
 */
export function fallbackValidatorVenv(config: AutoupdateConfig, state: UpdateState): { dir: string; override?: string } {
  const named = config.values.VALIDATOR_VENV_DIR || undefined;
  const current = state.venvs?.current?.validator;
  if (named && !fs.existsSync(named) && current && fs.existsSync(path.join(current, '.alphacore-complete'))) return { dir: current, override: current };
  return { dir: named ?? path.join(config.repoDir, 'venv') };
}

/** Opens git, PM2 and the launch code for a swap or a recovery. */
export function openSession(run: RunIo): Session {
  const { ctx, config, log, state } = run;
  const git = openGit(config.repoDir, ctx.env);
  // One connection to the operator's PM2 daemon, opened at the first PM2 question (the
  // preflight, before the stop) and shared with the relaunch: no CLI call per poll.
  const daemon = pm2DaemonLink(ctx, ctx.env.PM2_BIN || 'pm2');
  const pm2 = openPm2(ctx, { daemon });
  // The launch code's report lines become updater log lines (and JSON lines with
  // --json), never raw text in the middle of them.
  const toLog = (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) log.info(line);
  };
  const fallback = fallbackValidatorVenv(config, state);
  if (fallback.override) log.warn(`the config's VALIDATOR_VENV_DIR ${config.values.VALIDATOR_VENV_DIR} does not exist; using the prepared venv the state records, ${fallback.override}`);
  const hooks = launchHooks({ ...ctx, stdout: toLog, stderr: toLog }, config, daemon, fallback.override);
  const stateFile = ctx.paths.state(config.namespace);
  const save = async (): Promise<string | undefined> => {
    try {
      await writeState(stateFile, state);
      return undefined;
    } catch (error) {
      return stateWriteProblem(stateFile, error);
    }
  };
  return {
    hooks,
    stateFile,
    save,
    daemon,
    close: () => daemon.close(),
    io: {
      ctx,
      config,
      log,
      git,
      pm2,
      relaunch: (venvs, env) => hooks.relaunch(venvs, env),
      venvDir: fallback.dir,
      onPhase: async (phase) => {
        if (!state.journal) return;
        state.journal.phase = phase;
        const problem = await save();
        if (problem) throw new Error(problem);
      },
      interrupted: () => run.interrupts?.requested(),
    },
  };
}

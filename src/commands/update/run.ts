import { openGit, type Git } from '../../adapters/git.js';
import type { Interrupts } from '../../adapters/interrupts.js';
import { pm2DaemonLink, type Pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import { openPm2, type Pm2 } from '../../adapters/pm2.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { UpdateLog } from '../../core/log.js';
import type { UpdateState } from '../../core/state.js';
import { StateStore } from '../../core/state-store.js';
import type { LaunchArgs } from '../../domain/launch/options.js';

/**
 * One update run, opened after the lock: what every stage (observe, prepare, swap,
 * rollback, recover, record) receives. `state` is what the run read; only a LiveRun
 * (the real run, past the dry run's return) can write it back.
 */
export interface Run {
  ctx: Context;
  config: AutoupdateConfig;
  /** The validator's launch options, typed once when the config was loaded. */
  relaunch: LaunchArgs;
  log: UpdateLog;
  state: UpdateState;
  git: Git;
  pm2: Pm2;
  /** The run's one connection to the PM2 daemon (opened at the first PM2 question, shared with the relaunch). */
  daemon: Pm2DaemonLink;
  interrupts?: Interrupts;
  /** --force: the gates and the quarantine are skipped (never the signature policy). */
  force: boolean;
}

/** The real run: the only one that writes the state, the history, the metrics and the webhook. */
export interface LiveRun extends Run {
  store: StateStore;
}

export function openRun(input: Omit<Run, 'git' | 'pm2' | 'daemon'>): Run & { close(): void } {
  const { ctx, config } = input;
  const daemon = pm2DaemonLink(ctx, ctx.env.PM2_BIN || 'pm2');
  return {
    ...input,
    git: openGit(config.repoDir, ctx.env),
    daemon,
    pm2: openPm2(ctx, { daemon }),
    close: () => daemon.close(),
  };
}

/** Past the dry run's return: the run may now write its state. */
export function goLive(run: Run): LiveRun {
  return { ...run, store: new StateStore(run.ctx.paths.state(run.config.namespace), run.state) };
}

import { openGit, type Git } from '../../adapters/git.js';
import type { Interrupts } from '../../adapters/interrupts.js';
import type { Pm2DaemonLink } from '../../adapters/pm2-daemon.js';
import type { Pm2 } from '../../adapters/pm2.js';
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
  const { pm2, daemon } = lazyPm2(ctx);
  return { ...input, git: openGit(config.repoDir, ctx.env), daemon, pm2, close: () => daemon.close() };
}

/**
 * PM2 and the daemon link, loaded at the run's first PM2 question: the timer's no-op
 * run asks none, and does not read their code (scripts/build-timer.mjs keeps dynamic
 * imports out of its static part).
 */
function lazyPm2(ctx: Context): { pm2: Pm2; daemon: Pm2DaemonLink } {
  let ready: { pm2: Pm2; daemon: Pm2DaemonLink } | undefined;
  let loading: Promise<{ pm2: Pm2; daemon: Pm2DaemonLink }> | undefined;
  const load = () =>
    (loading ??= Promise.all([import('../../adapters/pm2-daemon.js'), import('../../adapters/pm2.js')]).then(([d, p]) => {
      const daemon = d.pm2DaemonLink(ctx, ctx.env.PM2_BIN || 'pm2');
      ready = { daemon, pm2: p.openPm2(ctx, { daemon }) };
      return ready;
    }));
  const daemon: Pm2DaemonLink = {
    get: async () => (await load()).daemon.get(),
    why: () => ready?.daemon.why(),
    drop: (reason) => ready?.daemon.drop(reason),
    close: () => ready?.daemon.close(),
  };
  const pm2: Pm2 = {
    bin: ctx.env.PM2_BIN || 'pm2',
    available: async () => (await load()).pm2.available(),
    list: async (namespace) => (await load()).pm2.list(namespace),
    stopNamespace: async (namespace) => (await load()).pm2.stopNamespace(namespace),
    deleteProcess: async (name, namespace) => (await load()).pm2.deleteProcess(name, namespace),
    deleteNamespace: async (namespace) => (await load()).pm2.deleteNamespace(namespace),
    startApp: async (app) => (await load()).pm2.startApp(app),
    save: async () => (await load()).pm2.save(),
    pollMs: async () => (await load()).pm2.pollMs(),
  };
  return { pm2, daemon };
}

/** Past the dry run's return: the run may now write its state. */
export function goLive(run: Run): LiveRun {
  return { ...run, store: new StateStore(run.ctx.paths.state(run.config.namespace), run.state) };
}

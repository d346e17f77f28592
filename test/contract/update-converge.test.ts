import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOrphans, namespaceProcesses } from '../../src/adapters/pm2-orphans.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld, until, type ContractWorld } from './contract-world.js';

// DESIGN.md §5.5 and §5.1 on the real repository, the built CLI run as the throwaway
// user under a real, isolated PM2: every run converges the namespace to the deployed
// commit, ends what a dead daemon left running, leaves the operator's `pm2 stop` alone,
// and a rollback whose reset failed says so and is retried.
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
const run = staged.ready as StagedRun;

const VALIDATOR = 'validator-hot-test';
const API = 'alphacore-validation-api';

function daemonPid(w: ContractWorld): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(w.pm2.home, 'pm2.pid'), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A running process of this world (its PM2_HOME in its environment) whose command line contains `text`. */
function processWith(w: ContractWorld, text: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || !running(Number(entry))) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`PM2_HOME=${w.pm2.home}`)) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(text)) return Number(entry);
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

function kill(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** A world launched and recorded once by a normal run (the state then knows the deployed commit). */
async function deployedWorld(env?: Record<string, string>): Promise<ContractWorld> {
  const w = await contractWorld(run, env ? { env } : {});
  await w.launched();
  const first = await w.update();
  expect(first.result, first.stdout + first.stderr).toMatchObject({ outcome: 'up-to-date' });
  return w;
}

function state(w: ContractWorld): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(w.stateDir, 'alphacore.state.json'), 'utf8'));
}

describe.skipIf(skip)('contract: every run converges the namespace (§5.5)', { timeout: 300_000 }, () => {
  it('after pm2 kill the next run restores both services at the deployed commit (outcome restored, exit 0)', async () => {
    const w = await deployedWorld();
    const head = w.head();
    w.pm2.pm2('kill');
    const r = await w.update();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'restored', reason: 'pm2-daemon-gone', from: head, to: head });
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
    expect(w.head()).toBe(head);
    expect(state(w).metrics.restores).toBe(1);
    const history = fs.readFileSync(path.join(w.stateDir, 'alphacore.history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.at(-1)).toMatchObject({ outcome: 'restored', reason: 'pm2-daemon-gone' });
    // Converged: the run after it has nothing to restore.
    const again = await w.update();
    expect(again.result).toMatchObject({ outcome: 'up-to-date' });
  });

  it('pm2 kill right after an update, before its record saw the pid files: the next run restores, never up-to-date', async () => {
    const w = await deployedWorld();
    const next = w.origin.advance();
    const r = await w.update();
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'updated', to: next });
    // What the run records when pm2 kill deletes the processes between its health check
    // and its record (the soak caught it: cycle 57 of seed 41): no pid file alive.
    const file = path.join(w.stateDir, 'alphacore.state.json');
    const recorded = state(w);
    recorded.metrics.pm2Up = Object.fromEntries(Object.keys(recorded.metrics.pm2Up).map((name) => [name, 0]));
    fs.writeFileSync(file, JSON.stringify(recorded));
    w.pm2.pm2('kill');
    const again = await w.update();
    expect(again.result, again.stdout + again.stderr).toMatchObject({ outcome: 'restored', reason: 'pm2-daemon-gone', to: next });
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
  });

  it('a daemon killed with -9 leaves orphans: they are ended by pid before the restore (never two validators)', async () => {
    const w = await deployedWorld();
    const before = w.jlist().filter((p) => p.pm2_env.namespace === 'alphacore');
    const oldPids = namespaceProcesses(w.pm2.home, 'alphacore').map((p) => p.pid);
    expect(before.map((p) => p.name).sort()).toEqual([API, VALIDATOR]);
    process.kill(daemonPid(w)!, 'SIGKILL');
    try {
      await until(() => (findOrphans(w.pm2.home, 'alphacore', undefined).length >= 2 ? true : undefined));
      const r = await w.update();
      expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'restored', reason: 'pm2-daemon-gone' });
      expect(r.stdout).toMatch(/no PM2 daemon supervises|without a PM2 daemon supervising them/);
      // Every process of the old daemon is gone; what runs now descends from the new one.
      expect(oldPids.filter(running)).toEqual([]);
      expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
      expect(findOrphans(w.pm2.home, 'alphacore', daemonPid(w))).toEqual([]);
      const validators = w.jlist().filter((p) => p.name === VALIDATOR);
      expect(validators).toHaveLength(1);
      expect(oldPids).not.toContain(validators[0]!.pid);
    } finally {
      kill(oldPids);
    }
  });

  it('a process the operator stopped stays stopped, and status says so and how to start it', async () => {
    const w = await deployedWorld();
    w.pm2.pm2('stop', VALIDATOR);
    const r = await w.update();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'up-to-date' });
    expect(r.stdout).toContain('stopped by the operator');
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'stopped']]);
    const status = await w.cli(['status', '--config', w.configFile]);
    expect(status.stdout + status.stderr).toMatch(/is stopped \(pm2 stop\): the updater leaves it stopped\. Start it again with: pm2 start \d+/);
  });

  it('a rollback whose reset failed (.git read-only) says where the clone is, fails, and the next run retries it', async () => {
    const w = await deployedWorld();
    const good = w.head();
    const bad = w.origin.pushSettings({ validator: 'crash' });
    const git = path.join(w.deploy, '.git');
    // Once the swap has reset to the bad release, .git turns read-only: the rollback's
    // reset cannot take git's index lock.
    const watcher = until(() => (w.head() === bad ? (fs.chmodSync(git, 0o555), true) : undefined), 120_000);
    let r;
    try {
      r = await w.update();
      await watcher;
    } finally {
      fs.chmodSync(git, 0o755);
    }
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'rollback-failed', from: good, to: bad });
    // No line claims the clone went back: it did not.
    expect(r.stdout).not.toContain(`deploy clone at ${good.slice(0, 7)}`);
    expect(r.stdout).toContain(`the deploy clone is at ${bad.slice(0, 7)}, not ${good.slice(0, 7)}`);
    expect(r.stdout).toContain(`alphacore update --config ${w.configFile} --force`);
    expect(w.head()).toBe(bad);
    // The fault is gone (.git writable again): the very next run retries, no backoff yet.
    const retry = await w.update();
    expect(retry.result, retry.stdout + retry.stderr).toMatchObject({ outcome: 'rolled-back', reason: 'rollback-retried' });
    expect(w.head()).toBe(good);
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
    expect(state(w).quarantine.map((q: { sha: string }) => q.sha)).toContain(bad);
  });

  it('the PM2 daemon killed during the health wait: rolled back without quarantine, and the next run deploys the release', async () => {
    const w = await deployedWorld();
    const good = w.head();
    const next = w.origin.advance();
    const stateFile = path.join(w.stateDir, 'alphacore.state.json');
    let killed: number[] = [];
    // Once the swap waits for the validator's health, the daemon dies (kill -9): the machine's fault.
    const killer = until(() => {
      try {
        if (JSON.parse(fs.readFileSync(stateFile, 'utf8')).journal?.phase !== 'health') return undefined;
      } catch {
        return undefined;
      }
      killed = namespaceProcesses(w.pm2.home, 'alphacore').map((p) => p.pid);
      process.kill(daemonPid(w)!, 'SIGKILL');
      return true;
    }, 120_000);
    try {
      const r = await w.update();
      await killer;
      expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'rolled-back', reason: 'pm2-daemon-died', from: good, to: next });
      expect(r.stdout).toContain("the machine's fault, not the release's");
      expect(state(w).quarantine).toEqual([]);
      expect(state(w).hostFaults).toMatchObject({ sha: next, count: 1 });
      expect(w.head()).toBe(good);
      expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
      // The orphans of the dead daemon (the new release's processes) were ended before the rollback started.
      expect(killed.filter(running)).toEqual([]);
      expect(findOrphans(w.pm2.home, 'alphacore', daemonPid(w))).toEqual([]);
      // Not its fault: the next run tries the release again, and it comes up.
      const again = await w.update();
      expect(again.result, again.stdout + again.stderr).toMatchObject({ outcome: 'updated', to: next });
      expect(state(w).hostFaults).toBeUndefined();
    } finally {
      kill(killed);
    }
  });

  /** Fires `act` once the swap's journal says it waits for health. */
  const inHealthWait = (w: ContractWorld, act: () => void) =>
    until(() => {
      try {
        if (JSON.parse(fs.readFileSync(path.join(w.stateDir, 'alphacore.state.json'), 'utf8')).journal?.phase !== 'health') return undefined;
      } catch {
        return undefined;
      }
      act();
      return true;
    }, 120_000);

  it('pm2 kill during the health wait (it deletes the processes, then ends the daemon): never quarantined; the release is deployed by the next runs', async () => {
    const w = await deployedWorld();
    const next = w.origin.advance();
    const killer = inHealthWait(w, () => w.pm2.pm2('kill'));
    const r = await w.update();
    await killer;
    expect(r.stdout + r.stderr).toContain("the machine's fault, not the release's");
    // The rollback waits for the dying daemon and starts the services on a new one: up after this run.
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'rolled-back' });
    expect(['pm2-processes-gone', 'pm2-daemon-died'], JSON.stringify(r.result)).toContain(r.result?.reason);
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
    expect(state(w).quarantine).toEqual([]);
    const last = await w.update();
    expect(last.result, last.stdout + last.stderr).toMatchObject({ outcome: 'updated', to: next });
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
  });

  it("pm2 kill during the rollback's health wait (a crashing release): the rollback starts the services once more on the new daemon, not ROLLBACK FAILED", async () => {
    // A rollback health wait long enough for pm2 kill to delete the processes inside it.
    const w = await deployedWorld({ HEALTH_STABLE: '8s' });
    const good = w.head();
    const bad = w.origin.pushSettings({ validator: 'crash' });
    // The journal keeps the forward phase (health) until the rollback's first step: its
    // own health phase comes after its reset, API and validator steps.
    let rollbackStepped = false;
    const killer = until(
      () => {
        try {
          const journal = JSON.parse(fs.readFileSync(path.join(w.stateDir, 'alphacore.state.json'), 'utf8')).journal;
          if (!journal?.rollingBack) return undefined;
          if (journal.phase !== 'health') rollbackStepped = true;
          if (!rollbackStepped || journal.phase !== 'health') return undefined;
        } catch {
          return undefined;
        }
        w.pm2.pm2('kill');
        return true;
      },
      { ms: 180_000, everyMs: 50, what: "the rollback's health wait" },
    );
    const r = await w.update();
    await killer;
    expect(r.stdout, r.stderr).toContain('starting the services once more');
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'rolled-back', reason: 'health-failed', from: good, to: bad });
    expect(w.head()).toBe(good);
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
    // The crash was the release's own: quarantined, whatever happened to PM2 afterwards.
    expect(state(w).quarantine.map((q: { sha: string }) => q.sha)).toEqual([bad]);
  });

  /**
   * The race of pm2 kill and a pm2 command, made certain: once `reached` holds the daemon
   * is stopped (no pm2 command can finish), and once `waiting` finds the command that now
   * waits on it, the daemon is killed. Runs one update meanwhile; checks what both such
   * runs must show: the hung command ended after 15 s without a daemon, the machine's
   * fault (rolled back, no quarantine), both services back.
   */
  async function updateWithDaemonKilledUnder(w: ContractWorld, reached: () => boolean, waiting: () => number | undefined, what: string) {
    const good = w.head();
    const next = w.origin.advance();
    let daemon: number | undefined;
    const breaker = (async () => {
      await until(reached, { ms: 120_000, everyMs: 20, what: `the step before ${what}` });
      daemon = daemonPid(w);
      if (daemon) process.kill(daemon, 'SIGSTOP');
      await until(waiting, { ms: 60_000, everyMs: 20, what });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (daemon) process.kill(daemon, 'SIGKILL');
    })();
    const r = await w.update();
    await breaker;
    expect(daemon).toBeDefined();
    expect(r.stdout).toMatch(/no PM2 daemon has run for 15s while pm2 \(pid \d+\) waited for one/);
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'rolled-back', reason: 'pm2-daemon-died', from: good, to: next });
    expect(w.head()).toBe(good);
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
    expect(state(w).quarantine).toEqual([]);
    return next;
  }

  it("the PM2 daemon dies under the API script's pm2 command (which then waits forever): ended after 15 s, rolled back without quarantine, deployed by the next run", async () => {
    const w = await deployedWorld();
    const script = path.join(w.deploy, 'scripts/validator/process/launch_validation_api.sh');
    const apiConfig = path.join(w.deploy, 'modules/evaluation/validation/sandbox/pm2.validation_api.config.js');
    // The script's first pm2 command (`pm2 describe`, then `pm2 start`) waits on the stopped daemon.
    const next = await updateWithDaemonKilledUnder(
      w,
      () => processWith(w, script) !== undefined,
      () => processWith(w, `describe ${API}`) ?? processWith(w, apiConfig),
      "the API script's first pm2 command",
    );
    // Nothing of the stuck command is left.
    expect(processWith(w, `describe ${API}`)).toBeUndefined();
    const again = await w.update();
    expect(again.result, again.stdout + again.stderr).toMatchObject({ outcome: 'updated', to: next });
  });

  it("the PM2 daemon dies under the relaunch's own pm2 command: ended after 15 s, the machine's fault (rolled back, no quarantine)", async () => {
    const w = await deployedWorld();
    const inValidatorPhase = () => {
      try {
        return JSON.parse(fs.readFileSync(path.join(w.stateDir, 'alphacore.state.json'), 'utf8')).journal?.phase === 'validator';
      } catch {
        return false;
      }
    };
    // The relaunch's first pm2 command through the CLI waits on the stopped daemon.
    await updateWithDaemonKilledUnder(w, inValidatorPhase, () => processWith(w, '.bin/pm2 '), "the relaunch's pm2 command");
  });

  it('the API stopped with SIGSTOP during the health wait: process-stopped, rolled back without quarantine, deployed by the next run', async () => {
    const w = await deployedWorld();
    const good = w.head();
    const next = w.origin.advance();
    let stopped: number | undefined;
    const stopper = inHealthWait(w, () => {
      stopped = w.pm2.list().find((p) => p.name === API && p.pid > 0)?.pid;
      if (stopped) process.kill(stopped, 'SIGSTOP');
    });
    try {
      const r = await w.update();
      await stopper;
      expect(stopped).toBeDefined();
      expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'rolled-back', reason: 'process-stopped', from: good, to: next });
      expect(r.stdout).toMatch(/alphacore-validation-api \(pid \d+\) is stopped by a signal/);
      expect(state(w).quarantine).toEqual([]);
      expect(w.head()).toBe(good);
      expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
      const again = await w.update();
      expect(again.result, again.stdout + again.stderr).toMatchObject({ outcome: 'updated', to: next });
    } finally {
      if (stopped) kill([stopped]);
    }
  });

  it('a restore that fails is never up-to-date: failed/restore, exit 1, the retry command; the next run retries it', async () => {
    const w = await deployedWorld();
    const head = w.head();
    w.pm2.pm2('kill');
    // The API cannot start for now (a broken host): the restore fails.
    w.fake.set({ api: 'crash' });
    const r = await w.update();
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'restore', from: head });
    expect(r.stdout).toContain('RESTORE FAILED');
    expect(r.stdout).toContain(`alphacore update --config ${w.configFile} --force`);
    expect(state(w).restore).toMatchObject({ attempts: 1 });
    const status = await w.cli(['status', '--config', w.configFile]);
    expect(status.stdout + status.stderr).toContain(`To retry now: alphacore update --config ${w.configFile} --force`);
    // The fault is gone: the very next run retries (no backoff for the first three).
    w.fake.set({ api: undefined });
    const again = await w.update();
    expect(again.result, again.stdout + again.stderr).toMatchObject({ outcome: 'restored', from: head });
    expect(w.services()).toEqual([[API, 'online'], [VALIDATOR, 'online']]);
    expect(state(w).restore).toBeUndefined();
    expect(state(w).metrics.restores).toBe(1);
  });
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gitProcessesIn } from '../../src/adapters/git-processes.js';
import { isAlive } from '../../src/adapters/lock.js';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import { until } from '../helpers/poll.js';
import { git } from '../helpers/repo.js';
import { restartWorld } from '../helpers/restart-world.js';
import { updateSetup } from '../helpers/update-setup.js';
import { chownTree, stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
if (staged.skip) console.log(`update signal e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

/** An origin that accepts git:// connections and never answers: a fetch from it hangs. */
async function hangingOrigin(): Promise<string> {
  const held: net.Socket[] = [];
  const server = net.createServer((socket) => held.push(socket));
  server.on('close', () => held.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of held) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return `git://127.0.0.1:${(server.address() as AddressInfo).port}/alphacore.git`;
}

/** pids whose process group is `pgid` (from /proc/<pid>/stat). */
function groupMembers(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') found.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

/** Starts `alphacore update` as the throwaway user; resolves its exit code and output. */
function startUpdate(cli: string, env: Record<string, string>, args: string[]) {
  const child = spawn(process.execPath, [cli, 'update', ...args], {
    uid: run.user.uid,
    gid: run.user.gid,
    env: { ...env, USER: run.user.name, LOGNAME: run.user.name },
    cwd: env.HOME,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
  return { child, exited };
}

e2e('update: a signal ends the run promptly and says so', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while the fetch hangs: the fetch\'s process group is ended, a log line says it, exit %i', async (signal, code) => {
    const s = await updateSetup();
    git(s.deploy, 'remote', 'set-url', 'origin', await hangingOrigin());
    await chownTree(s.root, run.user);
    const { child, exited } = startUpdate(run.cli, s.env, ['--config', s.configFile, '--json']);
    const fetch = await until(() => gitProcessesIn(s.deploy).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fetch')), { what: 'the git fetch', ms: 60_000, everyMs: 20 });
    child.kill(signal);
    const ended = await exited;
    expect(ended.code, ended.out).toBe(code);
    expect(ended.out).toMatch(new RegExp(`interrupted by ${signal} before anything was stopped; ended git .*fetch.* \\(pid ${fetch}\\)`));
    expect(JSON.parse(ended.out.trim().split('\n').at(-1)!)).toMatchObject({ event: 'result', outcome: 'failed', reason: 'interrupted' });
    expect(fs.readFileSync(s.logFile, 'utf8')).toContain(`interrupted by ${signal} before anything was stopped`);
    // The fetch and anything in its group are gone (not reparented to pid 1 and left running).
    await until(() => !isAlive(fetch), { what: 'the fetch to be reaped', ms: 10_000 });
    expect(groupMembers(fetch)).toEqual([]);
    expect(gitProcessesIn(s.deploy)).toEqual([]);
  }, 120_000);

  it('SIGINT during the health wait stops waiting and rolls back (not quarantined)', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const from = w.head();
    const to = pushRelease(w.setup.origin, { version: '1.1.0' });
    // A long HEALTH_STABLE (the environment outranks the file): the signal lands while the run waits.
    const { child, exited } = startUpdate(w.run.cli, { ...w.env, HEALTH_STABLE: '30s' }, ['--config', w.configFile, '--json']);
    await until(
      () => {
        try {
          return JSON.parse(fs.readFileSync(w.stateFile, 'utf8')).journal?.phase === 'health';
        } catch {
          return undefined;
        }
      },
      { what: 'the health phase', ms: 60_000, everyMs: 20 },
    );
    child.kill('SIGINT');
    const ended = await exited;
    expect(ended.code, ended.out).toBe(1);
    expect(ended.out).toContain('received SIGINT while the services are being changed: finishing the step in progress (health), then rolling back');
    expect(ended.out).toContain('interrupted by SIGINT while waiting for');
    const result = JSON.parse(ended.out.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({ event: 'result', outcome: 'rolled-back', reason: 'interrupted', from, to });
    expect(w.head()).toBe(from);
    expect(w.validator()).toMatchObject({ status: 'online' });
    expect(w.state().quarantine).toEqual([]);
    expect(w.pm2.list().find((p) => p.name === 'bystander')).toMatchObject({ status: 'online', pid: w.bystanderPid });
  }, 300_000);
});

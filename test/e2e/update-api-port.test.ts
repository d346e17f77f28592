import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import { startApi } from '../helpers/api.js';
import { until } from '../helpers/poll.js';
import { restartWorld, type RestartWorld } from '../helpers/restart-world.js';
import { stage, type StagedRun } from '../helpers/user.js';

// §5.6: a process that is not our Validation API but holds its port (a local user who
// grabbed it while the API restarted, an orphan of a dead PM2 daemon) is never taken
// for the API, even when it answers /health: the update fails with api-port-taken,
// naming the holder, and the validator is never pointed at it.
const staged = stage();
if (staged.skip) console.log(`api-port e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

/** An account of this file only. */
const STRANGER = 'alphacore-porttaker';

const strangers: ChildProcess[] = [];
afterEach(async () => {
  // Killed by pid and waited for: userdel refuses an account that still has a process.
  for (const c of strangers.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const gone = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await gone;
  }
});
afterAll(() => {
  if (!staged.skip) execFileSync('userdel', [STRANGER], { stdio: 'ignore' });
});

function strangerAccount(): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', STRANGER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', STRANGER], { stdio: 'ignore' });
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, STRANGER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** A server that answers /health like the API would, on `port`, as `who`. */
async function squat(port: number, who: { uid: number; gid: number }): Promise<ChildProcess> {
  const script = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'application/json' }); s.end(q.url === '/health' ? '{"status":"healthy","token_ready":true}' : '{"active":[]}'); }).listen(${port}, '127.0.0.1', () => console.log('listening'));`;
  const child = spawn(process.execPath, ['-e', script], { ...who, cwd: '/', stdio: ['ignore', 'pipe', 'inherit'] });
  strangers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`the squatter exited ${code}`)));
  });
  return child;
}

function journal(w: RestartWorld): { phase?: string; rollingBack?: boolean } | undefined {
  try {
    return JSON.parse(fs.readFileSync(w.stateFile, 'utf8')).journal;
  } catch {
    return undefined;
  }
}

/** Prompt polling: the squatter must take the port within the API phase and leave as the rollback starts. */
const watchJournal = (what: string, probe: () => boolean) => until(probe, { what, ms: 120_000, everyMs: 20 });

e2e('update: the API port held by another process is api-port-taken, never our API', () => {
  it.each([
    ['another account', 'stranger'],
    ['the same account, outside PM2 (an orphan)', 'self'],
  ] as const)('held by %s during the restart: rolled back with api-port-taken naming the holder, webhook told, not quarantined', async (_what, who) => {
    const hook = await startApi();
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' }, config: [`NOTIFY_WEBHOOK_URL=${hook.url}`] });
    const account = who === 'stranger' ? strangerAccount() : { uid: run.user.uid, gid: run.user.gid };
    const from = w.head();
    // The new API takes a while before it listens: the port is free meanwhile, as in a restart.
    const to = pushRelease(w.setup.origin, { version: '1.1.0', api: 'slow', slowMs: 15_000 });
    const update = w.update(['--json']);
    await watchJournal('the api phase', () => journal(w)?.phase === 'api');
    const squatter = await squat(w.apiPort, account);
    // It leaves once the rollback starts: the previous release's API gets the port back.
    await watchJournal('the rollback', () => Boolean(journal(w)?.rollingBack));
    squatter.kill('SIGKILL');
    const r = await update;
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: 'api-port-taken', from, to });
    const holder = who === 'stranger' ? `a process of user ${STRANGER}` : `pid ${squatter.pid} (user ${run.user.name})`;
    expect(r.stdout).toContain(`port ${w.apiPort} is held by ${holder}`);
    expect(w.head()).toBe(from);
    expect(w.validator()).toMatchObject({ status: 'online' });
    expect(w.state().quarantine).toEqual([]);
    const told = hook.requests.map((q) => JSON.parse(q.body) as { text: string });
    expect(told.some((m) => m.text.includes('api-port-taken') && m.text.includes(holder))).toBe(true);
    // Not the release's fault: the next run deploys it.
    const again = await w.update(['--json']);
    expect(again.result, again.stdout).toMatchObject({ outcome: 'updated', to });
  }, 300_000);

  it('a holder that stays: the rollback does not start the validator against it, and fails loudly naming it', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const to = pushRelease(w.setup.origin, { version: '1.1.0', api: 'slow', slowMs: 15_000 });
    const update = w.update(['--json']);
    await watchJournal('the api phase', () => journal(w)?.phase === 'api');
    await squat(w.apiPort, strangerAccount());
    const r = await update;
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'rollback-failed', to });
    expect(r.stdout).toContain(`port ${w.apiPort} is held by a process of user ${STRANGER}`);
    // No validator of ours sends its traffic to the stranger's "API".
    expect(w.validator()?.status, r.stdout + r.stderr).not.toBe('online');
    expect(w.pm2.list().find((p) => p.name === 'bystander')).toMatchObject({ status: 'online', pid: w.bystanderPid });
  }, 300_000);
});

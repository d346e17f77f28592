import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../helpers/api.js';
import { otherAccount } from '../helpers/other-account.js';
import { tempDir } from '../helpers/tmp.js';
import { updateSetup } from '../helpers/update-setup.js';
import { chownTree, runAs, stage, type StagedRun, type TestUser } from '../helpers/user.js';

/**
 * What another local account can plant must not steer the updater (DESIGN.md §5 steps 2
 * and 7, §5.7): a round lock at a bash-era shared path, a flock held on a bash-era
 * 0644 lock file. A real second account, the built CLI as the validator's user.
 */
const staged = stage();
if (staged.skip) console.log(`other-user e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

let mallory: TestUser & { remove(): Promise<void> };
const holders: ChildProcess[] = [];
beforeAll(async () => {
  if (!staged.skip) mallory = await otherAccount('ac-mallory-upd');
});
afterEach(async () => {
  for (const child of holders.splice(0)) await endGroup(child);
});
afterAll(async () => {
  await mallory?.remove();
});

async function endGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGKILL'); // flock and the command it forked
  await exited;
}

/** mallory runs `flock FILE` around a long sleep; resolves once the lock is held. */
async function malloryHolds(file: string): Promise<ChildProcess> {
  const child = spawn('flock', ['--exclusive', '--nonblock', file, 'sh', '-c', 'echo held; exec sleep 600'], {
    uid: mallory.uid,
    gid: mallory.gid,
    env: { PATH: '/usr/bin:/bin' },
    cwd: '/',
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  holders.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`mallory's flock exited ${code}: ${err}`)));
  });
  return child;
}

/** Makes every directory from the temp root down to `dir` enterable by others, as a 0755 home is. */
function openPath(root: string, dir: string): void {
  for (let d = dir; d.startsWith(root); d = path.dirname(d)) fs.chmodSync(d, 0o755);
}

e2e('another local user cannot steer the updater', () => {
  it('a round lock another user planted at a shared path (fresh ts, old mtime) is ignored, naming its owner; an old mtime is stale even in our own file', async () => {
    const hook = await startApi();
    const s = await updateSetup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/hook`] });
    const shared = tempDir('alphacore-sharedtmp-');
    fs.chmodSync(shared, 0o1777); // what /tmp is
    const planted = path.join(shared, 'alphacore-validator-round.lock');
    fs.writeFileSync(s.configFile, fs.readFileSync(s.configFile, 'utf8').replace(/^VALIDATOR_ROUND_LOCKFILE=.*$/m, `VALIDATOR_ROUND_LOCKFILE=${planted}`));
    const payload = JSON.stringify({ round_id: 7, block: 1, ts: Math.floor(Date.now() / 1000), pid: 1 });
    const wrote = await runAs(mallory, 'sh', ['-c', 'printf %s "$1" > "$2" && touch -d "2 days ago" "$2"', '_', payload, planted], { env: { PATH: '/usr/bin:/bin', HOME: '/' }, cwd: '/' });
    expect(wrote.exitCode, String(wrote.stderr)).toBe(0);
    const next = s.origin.push({ 'src/app.py': 'print("v2")\n' }, 'release 2');

    const r = await s.run(['--dry-run', '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'would-update', to: next });
    expect(r.stdout).toContain(`ignoring stale round lock ${planted}: the file belongs to ${mallory.name} (uid ${mallory.uid}), not to the validator's user (uid ${run.user.uid}) nor root`);
    const status = JSON.parse((await s.cli(['status', '--config', s.configFile, '--json'])).stdout) as { gates: { roundLock: { state: string; detail: string } } };
    expect(status.gates.roundLock).toMatchObject({ state: 'stale', detail: expect.stringContaining(`belongs to ${mallory.name}`) });

    // The same content in the validator's own file, untouched for 2 days: stale by its mtime (the ts alone kept it live before).
    fs.chownSync(planted, run.user.uid, run.user.gid);
    const own = await s.run(['--dry-run', '--json']);
    expect(own.result).toMatchObject({ outcome: 'would-update' });
    expect(own.stdout).toMatch(/ignoring stale round lock \S+: round 7: the file is untouched for 2d/);
  });

  it('a flock another user holds on a bash-era 0644 lock file: the run makes it 0600 in a 0700 dir and names the holder; past a run\'s budget it is an error, in status, told once', async () => {
    const hook = await startApi();
    const s = await updateSetup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/hook`] });
    const stateDir = path.dirname(s.stateFile);
    const lockFile = path.join(stateDir, 'alphacore.lock');
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(lockFile, '');
    await chownTree(s.root, run.user);
    // The bash era: a 0755 state dir in a home others may enter, a 0644 lock file.
    openPath(s.root, stateDir);
    fs.chmodSync(lockFile, 0o644);
    const held = await malloryHolds(lockFile);

    const first = await s.run(['--json']);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(first.result).toMatchObject({ outcome: 'locked' });
    expect(fs.statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(lockFile).mode & 0o777).toBe(0o600);
    expect(first.stdout).toContain(`made private: ${stateDir} 0755 -> 0700`);
    expect(first.stdout).toContain(`made private: ${lockFile} 0644 -> 0600`);
    expect(first.stdout).toContain(`is held by pid ${held.pid} (user ${mallory.name})`);
    expect(first.stdout).toContain("is another user's process");
    expect(hook.requests).toHaveLength(0);
    // From now on the other account cannot even open it.
    const again = await runAs(mallory, 'flock', ['--nonblock', lockFile, 'true'], { env: { PATH: '/usr/bin:/bin', HOME: '/' }, cwd: '/' });
    expect(again.exitCode).not.toBe(0);
    expect(String(again.stderr)).toMatch(/Permission denied/);

    // The first run that saw this holder was 2 hours ago (no test waits a run's budget, 49 min).
    const watchFile = path.join(stateDir, 'alphacore.lock-watch.json');
    const watch = JSON.parse(fs.readFileSync(watchFile, 'utf8')) as { since: string; pid: number };
    expect(watch.pid).toBe(held.pid);
    watch.since = new Date(Date.now() - 2 * 3_600_000).toISOString();
    fs.writeFileSync(watchFile, JSON.stringify(watch));

    const late = await s.run(['--json']);
    expect(late.result).toMatchObject({ outcome: 'locked' });
    expect(late.stdout).toMatch(new RegExp(`has been held by pid ${held.pid} \\(user ${mallory.name}\\) for at least 2h.*longer than a run's budget \\(49m\\)`));
    expect(late.stdout).toContain(`kill ${held.pid}`);
    expect(hook.requests).toHaveLength(1);
    const body = JSON.parse(hook.requests[0]!.body) as { text: string; alphacore: Record<string, unknown> };
    expect(body.alphacore).toMatchObject({ outcome: 'locked', reason: 'lock-held-too-long' });
    expect(body.text).toContain(`pid ${held.pid} (user ${mallory.name})`);
    await s.run(['--json']);
    expect(hook.requests).toHaveLength(1); // once

    const status = JSON.parse((await s.cli(['status', '--config', s.configFile, '--json'])).stdout) as { overlapLock?: Record<string, unknown>; advice: { level: string; text: string }[] };
    expect(status.overlapLock).toMatchObject({ lockfile: lockFile, pid: held.pid, overBudget: true, holders: [{ pid: held.pid, user: mallory.name, alive: true }] });
    expect(status.advice.find((a) => a.level === 'error' && a.text.includes(`The updater lock ${lockFile} has been held by pid ${held.pid} (user ${mallory.name})`))).toBeDefined();
    expect((await s.cli(['status', '--config', s.configFile])).stdout).toMatch(/Update lock +held by pid \d+ \(user ac-mallory-upd\) since at least .*longer than a run's budget/);

    // Released: the next run takes the lock and the record is gone; status no longer shows it.
    await endGroup(held);
    const free = await s.run(['--json']);
    expect(free.result).toMatchObject({ outcome: 'up-to-date' });
    expect(fs.existsSync(watchFile)).toBe(false);
    expect(JSON.parse((await s.cli(['status', '--config', s.configFile, '--json'])).stdout)).not.toHaveProperty('overlapLock');
  });
});

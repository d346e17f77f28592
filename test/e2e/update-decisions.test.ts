import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git } from '../helpers/repo.js';
import { updateSetup } from '../helpers/update-setup.js';

const HUMAN_LINE = /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] \[autoupdate\] .+$/;

describe('update: steps 1-8 with the built CLI, real git and a real HTTP API', () => {
  it('up-to-date: exit 0, human lines on stdout and in the log file', async () => {
    const s = await updateSetup();
    const r = await s.run();
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n');
    for (const line of lines) expect(line).toMatch(HUMAN_LINE);
    expect(lines.at(-1)).toContain('result: up-to-date');
    expect(fs.readFileSync(s.logFile, 'utf8')).toContain('result: up-to-date');
    // The no-op path never asks the API.
    expect(s.api!.requests).toHaveLength(0);
  });

  it('--json: JSON lines, the last one the result with from and to', async () => {
    const s = await updateSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n').every((l) => l.startsWith('{'))).toBe(true);
    expect(r.json.at(-1)).toMatchObject({ event: 'result', outcome: 'up-to-date', from: head, to: head });
  });

  it('invalid config: exit 2, every problem named, nothing written', async () => {
    const s = await updateSetup({ config: ['NETUID=abc', 'HEALTH_STABLE=forever'] });
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('NETUID=abc must be a subnet uid, an integer 0-65535');
    expect(r.stderr).toContain('HEALTH_STABLE=forever is not a time span');
    // Never silent, even under a timer whose output goes nowhere (§5 step 1): the
    // namespace's log and state say it; nothing else is written.
    expect(fs.readFileSync(s.logFile, 'utf8')).toContain('NETUID=abc must be a subnet uid, an integer 0-65535');
    expect(JSON.parse(fs.readFileSync(s.stateFile, 'utf8')).configError).toMatchObject({ file: s.configFile, problems: expect.arrayContaining([expect.stringContaining('HEALTH_STABLE=forever')]) });
    expect(fs.readdirSync(path.dirname(s.logFile)).sort()).toEqual(['alphacore.log', 'alphacore.state.json']);
  });

  it('a config that tries to run a command is refused, and nothing runs', async () => {
    const marker = path.join('/tmp', `alphacore-pwned-${process.pid}`);
    const s = await updateSetup({ config: [`BRANCH=$(touch ${marker})`, `REMOTE=\`touch ${marker}\``] });
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/alphacore.env:\d+: BRANCH uses \$\(\.\.\.\) command substitution/);
    expect(r.stderr).toMatch(/alphacore.env:\d+: REMOTE uses backtick command substitution/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refused: modified or staged tracked files (exit 1); untracked files are fine and survive', async () => {
    const s = await updateSetup();
    s.origin.push({ 'src/app.py': 'print("v2")\n' });
    fs.writeFileSync(path.join(s.deploy, 'src/app.py'), 'local edit\n');
    let r = await s.run(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'refused', reason: 'dirty-worktree' });
    expect(r.stdout).toContain('src/app.py');

    git(s.deploy, 'checkout', '--', 'src/app.py');
    fs.writeFileSync(path.join(s.deploy, 'README.md'), 'staged\n');
    git(s.deploy, 'add', 'README.md');
    r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'refused' });

    git(s.deploy, 'reset', '--hard', '--quiet');
    fs.mkdirSync(path.join(s.deploy, 'env', 'test'), { recursive: true });
    fs.writeFileSync(path.join(s.deploy, 'env', 'test', 'validator.env'), 'SECRET=1\n');
    r = await s.run(['--json', '--dry-run']);
    expect(r.result).toMatchObject({ outcome: 'would-update' });
    expect(fs.readFileSync(path.join(s.deploy, 'env', 'test', 'validator.env'), 'utf8')).toBe('SECRET=1\n');
  });

  it('fetch failure: failed, exit 1, nothing touched', async () => {
    const s = await updateSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    git(s.deploy, 'remote', 'set-url', 'origin', path.join(s.root, 'gone.git'));
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'fetch-failed' });
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('a new release with idle gates and --dry-run: would-update, exit 0, nothing touched', async () => {
    const s = await updateSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const target = s.origin.push({ 'src/app.py': 'print("v2")\n' });
    const r = await s.run(['--json', '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toEqual({ ts: expect.any(String), event: 'result', outcome: 'would-update', from: head, to: target });
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(head);
    expect(s.api!.requests.map((q) => q.url)).toEqual(['/validate/active']);
  });

  it('the branch moving backwards (force-push) is an update too', async () => {
    const s = await updateSetup();
    const first = s.origin.head();
    const second = s.origin.push({ 'src/app.py': 'print("v2")\n' });
    git(s.deploy, 'pull', '--quiet', '--ff-only');
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(second);
    s.origin.forcePush(first);
    const r = await s.run(['--json', '--dry-run']);
    expect(r.result).toMatchObject({ outcome: 'would-update', from: second, to: first });
  });

  it('quarantined target: skipped (exit 0) until --force', async () => {
    const s = await updateSetup();
    const target = s.origin.push({ 'src/app.py': 'broken\n' });
    fs.mkdirSync(path.dirname(s.stateFile), { recursive: true });
    fs.writeFileSync(s.stateFile, JSON.stringify({ quarantine: [{ sha: target, at: new Date().toISOString(), reason: 'validator-unhealthy' }] }));
    let r = await s.run(['--json', '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'skipped', reason: 'quarantined', to: target });
    r = await s.run(['--json', '--dry-run', '--force']);
    expect(r.result).toMatchObject({ outcome: 'would-update', to: target });
  });
});

describe('update: the round lock gate', () => {
  const lock = (fields: Record<string, unknown>) => JSON.stringify({ round_id: 12, block: 3400, ...fields });

  it('a live round defers the update (round-active), and the API is not asked', async () => {
    const s = await updateSetup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    fs.writeFileSync(s.roundLock, lock({ ts: Date.now() / 1000, pid: process.pid }));
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
    expect(s.api!.requests).toHaveLength(0);
  });

  it('a lock whose pid is dead is stale: warned about and ignored', async () => {
    const s = await updateSetup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    fs.writeFileSync(s.roundLock, lock({ ts: Date.now() / 1000, pid: 2 ** 22 + 17 }));
    const r = await s.run(['--dry-run']);
    expect(r.stdout).toMatch(/WARNING: ignoring stale round lock .*is not running/);
    expect(r.stdout).toContain('result: would-update');
  });

  it('a lock older than ROUND_LOCK_MAX_AGE is stale even with a live pid', async () => {
    const s = await updateSetup({ config: ['ROUND_LOCK_MAX_AGE=1h'] });
    s.origin.push({ 'src/app.py': 'v2\n' });
    fs.writeFileSync(s.roundLock, lock({ ts: Date.now() / 1000 - 7200, pid: process.pid }));
    const r = await s.run(['--dry-run']);
    expect(r.stdout).toMatch(/ignoring stale round lock .*older than ROUND_LOCK_MAX_AGE/);
    expect(r.stdout).toContain('result: would-update');
  });

  it('unreadable content counts as live', async () => {
    const s = await updateSetup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    fs.writeFileSync(s.roundLock, 'not json');
    const r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
  });

  it('--force passes a live round and a busy API', async () => {
    const s = await updateSetup({ api: { active: [{ id: 'job-1' }] } });
    s.origin.push({ 'src/app.py': 'v2\n' });
    fs.writeFileSync(s.roundLock, lock({ ts: Date.now() / 1000, pid: process.pid }));
    const r = await s.run(['--json', '--dry-run', '--force']);
    expect(r.result).toMatchObject({ outcome: 'would-update' });
  });
});

describe('update: the Validation API gate', () => {
  it.each([
    ['busy', { active: [{ id: 'job-1' }, { id: 'job-2' }] }, 'deferred', 'api-busy'],
    ['another 2xx body', { status: 200, body: '{"jobs":[]}' }, 'deferred', 'api-unknown'],
    ['a non-JSON 2xx body', { status: 200, body: '<html>' }, 'deferred', 'api-unknown'],
    ['non-2xx', { status: 503, body: 'down' }, 'would-update', undefined],
  ] as const)('%s', async (_name, behaviour, outcome, reason) => {
    const s = await updateSetup({ api: behaviour });
    s.origin.push({ 'src/app.py': 'v2\n' });
    const r = await s.run(['--json', '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toMatchObject({ outcome, ...(reason ? { reason } : {}) });
    if (!reason) expect(r.stdout).toContain('treating it as idle');
  });

  it('a closed port is idle, with a warning', async () => {
    const s = await updateSetup({ api: 'closed' });
    s.origin.push({ 'src/app.py': 'v2\n' });
    const r = await s.run(['--dry-run']);
    expect(r.stdout).toMatch(/WARNING: Validation API .* did not answer \(ECONNREFUSED\)/);
    expect(r.stdout).toContain('result: would-update');
  });

  it('a server that never answers is given up on after 2 s and treated as idle', async () => {
    const s = await updateSetup({ api: { hang: true } });
    s.origin.push({ 'src/app.py': 'v2\n' });
    const r = await s.run(['--dry-run']);
    expect(r.stdout).toContain('did not answer (no answer within 2000 ms)');
    expect(r.stdout).toContain('result: would-update');
  });
});

describe('update: the overlap lock', () => {
  /** Starts a run that holds the lock while it waits on a hanging API. */
  async function startHolder(s: Awaited<ReturnType<typeof updateSetup>>) {
    const child = await s.spawnUpdate(['--dry-run']);
    const lockDir = path.join(path.dirname(s.stateFile), 'alphacore.lock');
    // The holder asks the API only after taking the lock.
    const deadline = Date.now() + 10_000;
    while (s.api!.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(lockDir)).toBe(true);
    return child;
  }

  it('a second run while one is in progress: locked, exit 0', async () => {
    const s = await updateSetup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    const release = await s.holdLock(); // the first run's lock, held for as long as this test needs
    try {
      const r = await s.run(['--json']);
      expect(r.exitCode).toBe(0);
      expect(r.result).toMatchObject({ outcome: 'locked' });
      expect(r.json.at(-1)).toEqual(r.result);
    } finally {
      await release();
    }
    expect((await s.run(['--json', '--dry-run'])).result).toMatchObject({ outcome: 'would-update' });
  });

  it('a run killed with SIGKILL never blocks the next run', async () => {
    const s = await updateSetup({ api: { hang: true } });
    s.origin.push({ 'src/app.py': 'v2\n' });
    const holder = await startHolder(s);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.on('exit', resolve));
    s.api!.set({ active: [] });
    const r = await s.run(['--json', '--dry-run']);
    expect(r.result).toMatchObject({ outcome: 'would-update' });
  });
});

describe('update: the bash updater\'s lock file (a plain file at the same path, locked with flock)', () => {
  /** autoupdate_release.sh's own lock: `exec 9>"$lock"; flock -n 9`, then the run; here it sleeps. */
  async function bashHolder(lockFile: string) {
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    fs.writeFileSync(lockFile, '');
    const script = 'exec 9>"$1"; flock -n 9 || exit 1; echo held; exec sleep 600';
    const child = spawn('bash', ['-c', script, '_', lockFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    return child;
  }

  it('held by a live bash updater: locked, exit 0, said in the log; once it is gone the next run proceeds', async () => {
    const s = await updateSetup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    const lockFile = path.join(path.dirname(s.stateFile), 'alphacore.lock');
    const holder = await bashHolder(lockFile);
    try {
      const r = await s.run(['--json']);
      expect(r.stderr).not.toContain('unexpected error');
      expect(r.exitCode).toBe(0);
      expect(r.result).toMatchObject({ outcome: 'locked' });
      expect(fs.readFileSync(s.logFile, 'utf8')).toMatch(/\[autoupdate\] result: locked/);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // The bash run is over and its file stays behind: it no longer blocks anything.
    expect(fs.statSync(lockFile).isFile()).toBe(true);
    const next = await s.run(['--json', '--dry-run']);
    expect(next.result).toMatchObject({ outcome: 'would-update' });
  });
});

describe('update: the log file', () => {
  it('is rotated at LOG_MAX_BYTES with 3 old files kept', async () => {
    const s = await updateSetup({ config: ['LOG_MAX_BYTES=1K'] });
    for (let i = 0; i < 5; i += 1) {
      // Grow the current log past the limit so the next run rotates it.
      fs.mkdirSync(path.dirname(s.logFile), { recursive: true });
      fs.appendFileSync(s.logFile, `${'x'.repeat(1100)} generation ${i}\n`);
      await s.run();
    }
    expect(fs.readFileSync(`${s.logFile}.1`, 'utf8')).toContain('generation 4');
    expect(fs.readFileSync(`${s.logFile}.3`, 'utf8')).toContain('generation 2');
    expect(fs.readFileSync(s.logFile, 'utf8')).toContain('result: up-to-date');
    const names = fs.readdirSync(path.dirname(s.logFile)).filter((n) => n.startsWith('alphacore.log')).sort();
    expect(names).toEqual(['alphacore.log', 'alphacore.log.1', 'alphacore.log.2', 'alphacore.log.3']);
  });
});

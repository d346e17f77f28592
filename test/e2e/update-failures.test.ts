import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApi } from '../helpers/api.js';
import { CLI } from '../helpers/cli.js';
import { fixtureGit } from '../helpers/alphacore-fixture.js';
import { pm2Recorder } from '../helpers/fake-pm2.js';
import { git } from '../helpers/repo.js';
import { updateSetup, type UpdateSetup } from '../helpers/update-setup.js';
import { chownTree, runCliAs, stage, type StagedRun } from '../helpers/user.js';

// The swap's preflight validates the launch options, which refuse root: tests that get
// that far run the CLI as the throwaway user.
const staged = stage();
if (staged.skip) console.log(`update failure tests that reach the swap skipped: ${staged.skip}`);
const asUser = staged.skip ? it.skip : it;
const root = process.getuid?.() === 0;
async function runAsUser(s: UpdateSetup): Promise<ReturnType<typeof runCliAs>> {
  const run = staged.ready as StagedRun;
  await chownTree(s.root, run.user);
  return runCliAs(run, ['update', '--config', s.configFile, '--json'], { env: s.env });
}

/**
 * Failure paths of the cycle that must stop nothing (issue 10), through the built CLI
 * with real git and a real HTTP API. PM2 is a recorder here: these tests prove PM2 was
 * never asked to stop anything (the restart itself is tested with the real PM2).
 */
async function setup(options: Parameters<typeof updateSetup>[0] = {}): Promise<UpdateSetup & { pm2: ReturnType<typeof pm2Recorder>; stops(): string[][] }> {
  const s = await updateSetup(options);
  const pm2 = pm2Recorder(path.join(s.root, 'fake-pm2'));
  s.env.PM2_BIN = pm2.bin;
  return Object.assign(s, { pm2, stops: () => pm2.calls().filter((c) => c[0] === 'stop' || c[0] === 'delete') });
}

function writeState(s: UpdateSetup, state: unknown): void {
  fs.mkdirSync(path.dirname(s.stateFile), { recursive: true });
  fs.writeFileSync(s.stateFile, typeof state === 'string' ? state : JSON.stringify(state));
}

const SCRIPTS = ['scripts/validator/process/start_validator_pm2.sh', 'scripts/validator/process/launch_validation_api.sh', 'modules/evaluation/validation/sandbox/setup.sh'];

/** A target that passes preflight: the launch scripts exist, the launch options are valid. */
function pushSwappable(s: UpdateSetup): string {
  fs.appendFileSync(s.configFile, 'VALIDATOR_EXTRA_ARGS=--disable-llm\n');
  s.origin.push(Object.fromEntries(SCRIPTS.map((f) => [f, '#!/usr/bin/env bash\nexit 0\n'])));
  git(s.deploy, 'pull', '--quiet', '--ff-only');
  return s.origin.push({ 'src/app.py': 'v3\n' });
}

const readState = (s: UpdateSetup) => JSON.parse(fs.readFileSync(s.stateFile, 'utf8')) as Record<string, any>;

describe('update failure paths that stop nothing (built CLI, real git)', () => {
  it('--dry-run with a journal reports what the next run would recover, and acts on nothing', async () => {
    const s = await setup();
    const from = git(s.deploy, 'rev-parse', 'HEAD');
    const to = s.origin.push({ 'src/app.py': 'v2\n' });
    // The target was fetched by an earlier run, as it always is before a swap.
    await s.run(['--dry-run']);
    const journal = { from, to, phase: 'api', startedAt: new Date().toISOString(), pid: 999_999 };
    writeState(s, { quarantine: [], journal });
    const r = await s.run(['--dry-run', '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'would-recover', from, to });
    expect(r.stdout).toContain('the next real run would recover the update interrupted in phase api');
    expect(s.pm2.calls()).toEqual([]);
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(from);
    expect(readState(s).journal).toEqual(journal);
  });

  it.each([
    ['garbage', 'not a journal'],
    ['commits that do not exist', { from: 'a'.repeat(40), to: 'b'.repeat(40), phase: 'reset', startedAt: '2026-01-01T00:00:00Z', pid: 1 }],
  ])('a journal of %s is set aside loudly and stops nothing', async (_name, journal) => {
    const s = await setup();
    const r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'up-to-date' });
    writeState(s, { quarantine: [], journal });
    const again = await s.run(['--json']);
    expect(again.stderr).not.toContain('unexpected error');
    expect(again.exitCode).toBe(0);
    expect(again.result).toMatchObject({ outcome: 'up-to-date' });
    expect(again.stdout).toContain('cannot be acted on');
    expect(s.stops()).toEqual([]);
    const state = readState(s);
    expect(state.journal).toBeUndefined();
    expect(state.badJournal).toMatchObject({ journal });
  });

  it('an index.lock held when the update starts is refused before the stop', async () => {
    const s = await setup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    s.origin.push({ 'src/app.py': 'v2\n' });
    const lock = path.join(s.deploy, '.git', 'index.lock');
    fs.writeFileSync(lock, '');
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'index-locked' });
    expect(r.stdout).toContain(lock);
    expect(s.stops()).toEqual([]);
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(head);
    expect(fs.existsSync(lock)).toBe(true);
  });

  it.each(['branch', 'detached'])('a clone on another %s with a local commit is refused, nothing touched', async (kind) => {
    const s = await setup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    if (kind === 'branch') git(s.deploy, 'checkout', '--quiet', '-b', 'feature');
    else git(s.deploy, 'checkout', '--quiet', '--detach');
    fs.writeFileSync(path.join(s.deploy, 'local.txt'), 'mine\n');
    git(s.deploy, 'add', 'local.txt');
    git(s.deploy, 'commit', '--quiet', '-m', 'local work');
    const mine = git(s.deploy, 'rev-parse', 'HEAD');
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'refused', reason: kind === 'branch' ? 'branch-feature' : 'detached-head' });
    expect(r.stdout).toContain(kind === 'branch' ? 'on branch feature (not release)' : 'on a detached HEAD (not release)');
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(mine);
    expect(s.stops()).toEqual([]);
  });

  it('a renamed-away modules/requirements.txt triggers the dependency refresh (git diff --no-renames)', async () => {
    const s = await setup();
    s.origin.push({ 'modules/requirements.txt': 'requests==2.32.0\nnumpy==2.0.0\nrich==13.0.0\n' });
    git(s.deploy, 'pull', '--quiet', '--ff-only');
    git(s.origin.author, 'mv', 'modules/requirements.txt', 'modules/requirements-old.txt');
    const renamed = s.origin.push({});
    expect(git(s.origin.author, 'show', '--name-status', '--format=', renamed)).toMatch(/^R/);
    const r = await s.run(['--dry-run', '--json']);
    expect(r.result).toMatchObject({ outcome: 'would-update', to: renamed });
    expect(r.stdout).toMatch(/dependency refresh: \S*\/bin\/pip install --disable-pip-version-check -r \S*modules\/requirements.txt/);
  });

  it('a corrupt state file is said in the log and by webhook, and the quarantine is recovered from the history', async () => {
    const hook = await startApi();
    const s = await setup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/hook`] });
    const from = git(s.deploy, 'rev-parse', 'HEAD');
    const bad = s.origin.push({ 'src/app.py': 'broken\n' });
    fs.mkdirSync(path.dirname(s.stateFile), { recursive: true });
    const history = path.join(path.dirname(s.stateFile), 'alphacore.history.jsonl');
    fs.writeFileSync(history, `${JSON.stringify({ at: new Date().toISOString(), from, to: bad, outcome: 'rolled-back', reason: 'health-failed' })}\n`);
    writeState(s, '{"quarantine": [{"sha": "tru');
    const r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'skipped', reason: 'quarantined', to: bad });
    expect(fs.readFileSync(s.logFile, 'utf8')).toMatch(/state file was unusable \(not valid JSON.*set aside as .*alphacore\.state\.json\.corrupt-.*1 quarantined commit\(s\) recovered/);
    expect(hook.requests.map((q) => JSON.parse(q.body).alphacore.outcome)).toEqual(['state-reset']);
    const state = readState(s);
    expect(state.quarantine.map((q: { sha: string }) => q.sha)).toEqual([bad]);
    expect(state.stateSetAside).toMatchObject({ recoveredQuarantine: 1 });
  });

  it('state, history and log are never written through a symlink', async () => {
    const s = await setup();
    const victim = path.join(s.root, 'operator-file.txt');
    fs.writeFileSync(victim, 'precious\n');
    fs.mkdirSync(path.dirname(s.stateFile), { recursive: true });
    for (const file of [s.stateFile, s.logFile]) fs.symlinkSync(victim, file);
    const r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'up-to-date' });
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    for (const file of [s.stateFile, s.logFile]) expect(fs.lstatSync(file).isFile()).toBe(true);
  });

  it('a FIFO, a symlink to a FIFO, or a directory at the round lockfile never blocks the run', async () => {
    const s = await setup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    const fifo = path.join(s.root, 'fifo');
    git(s.root, '--version');
    await new Promise((resolve, reject) => spawn('mkfifo', [fifo]).on('exit', (c) => (c === 0 ? resolve(c) : reject(new Error(`mkfifo ${c}`)))));
    fs.renameSync(fifo, s.roundLock);
    let r = await s.run(['--json', '--dry-run']);
    expect(r.result).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
    expect(r.stdout).toContain('is a FIFO');
    fs.renameSync(s.roundLock, fifo);
    fs.symlinkSync(fifo, s.roundLock);
    r = await s.run(['--json', '--dry-run']);
    expect(r.result).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
    expect(r.stdout).toContain('symlink (not followed)');
    fs.rmSync(s.roundLock);
    // A directory untouched for longer than ROUND_LOCK_MAX_AGE (6h) is stale.
    fs.mkdirSync(s.roundLock);
    const old = new Date(Date.now() - 7 * 3_600_000);
    fs.utimesSync(s.roundLock, old, old);
    r = await s.run(['--json', '--dry-run']);
    expect(r.result).toMatchObject({ outcome: 'would-update' });
    expect(r.stdout).toContain('a directory');
  });

  it('a config that fails to parse under cron (output discarded) is logged, recorded in the state and notified once', async () => {
    const hook = await startApi();
    const s = await setup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/hook`, 'NETUID=$(id)'] });
    const cron = async () => {
      const child = await s.spawnUpdate([]);
      return new Promise<number | null>((resolve) => child.on('exit', resolve));
    };
    expect(await cron()).toBe(2);
    expect(fs.readFileSync(s.logFile, 'utf8')).toMatch(/alphacore\.env:\d+: NETUID uses \$\(\.\.\.\) command substitution/);
    expect(readState(s).configError).toMatchObject({ file: s.configFile, problems: [expect.stringContaining('NETUID')] });
    expect(await cron()).toBe(2);
    expect(hook.requests).toHaveLength(1);
    const body = JSON.parse(hook.requests[0]!.body);
    expect(body.alphacore).toMatchObject({ namespace: 'alphacore', outcome: 'invalid-config' });
    expect(body.text).not.toContain(hook.url);
    // Fixed: the next good run clears it.
    fs.writeFileSync(s.configFile, fs.readFileSync(s.configFile, 'utf8').replace('NETUID=$(id)\n', ''));
    expect((await s.run()).exitCode).toBe(0);
    expect(readState(s).configError).toBeUndefined();
  });

  it('a config that fails to parse is recorded under its PM2_NAMESPACE, not its file name; --dry-run records nothing', async () => {
    const s = await setup({ config: ['PM2_NAMESPACE=alphacore', 'NETUID=$(id)'] });
    const typo = path.join(path.dirname(s.configFile), 'typo.env');
    fs.renameSync(s.configFile, typo);
    const stateDir = path.dirname(s.stateFile);
    const files = () => (fs.existsSync(stateDir) ? fs.readdirSync(stateDir).sort() : []);
    const dry = await s.cli(['update', '--config', typo, '--dry-run']);
    expect(dry.exitCode).toBe(2);
    expect(dry.stderr).toContain('NETUID');
    expect(files()).toEqual([]);
    expect((await s.cli(['update', '--config', typo])).exitCode).toBe(2);
    expect(files()).toEqual(['alphacore.log', 'alphacore.state.json']);
    expect(readState(s).configError).toMatchObject({ file: typo, problems: [expect.stringContaining('NETUID')] });
  });

  it('a scratch copy outside the config folder that no timer runs: its error goes to the terminal, not into the namespace it names', async () => {
    const s = await setup({ config: ['PM2_NAMESPACE=alphacore', 'NETUID=$(id)'] });
    const scratch = path.join(path.dirname(path.dirname(s.configFile)), 'scratch.env');
    fs.copyFileSync(s.configFile, scratch);
    fs.chmodSync(scratch, 0o644);
    const stateDir = path.dirname(s.stateFile);
    const files = () => (fs.existsSync(stateDir) ? fs.readdirSync(stateDir).sort() : []);
    const r = await s.cli(['update', '--config', scratch]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('NETUID');
    expect(files()).toEqual([]);
    // Once the namespace's timer runs that file (its unit's drop-in names it), it is recorded.
    const dropIn = path.join(s.env.XDG_CONFIG_HOME!, 'systemd', 'user', 'alphacore-autoupdate@alphacore.service.d', 'alphacore.conf');
    fs.mkdirSync(path.dirname(dropIn), { recursive: true });
    fs.writeFileSync(dropIn, `[Service]\nEnvironment=ALPHACORE_CONFIG=${scratch}\n`);
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', `${fs.statSync(s.configFile).uid}`, path.join(s.env.XDG_CONFIG_HOME!, 'systemd')]);
    expect((await s.cli(['update', '--config', scratch])).exitCode).toBe(2);
    expect(readState(s).configError).toMatchObject({ file: scratch });
    fs.rmSync(path.join(s.env.XDG_CONFIG_HOME!, 'systemd'), { recursive: true });
    // The namespace's own config, broken the same way, is recorded (what the timer runs).
    expect((await s.run()).exitCode).toBe(2);
    expect(readState(s).configError).toMatchObject({ file: s.configFile });
  });

  it('a closed stdout (| head -1) does not abort the run or print a stack trace', async () => {
    const s = await setup();
    s.origin.push({ 'src/app.py': 'v2\n' });
    fs.writeFileSync(s.roundLock, JSON.stringify({ round_id: 1, ts: Date.now() / 1000, pid: process.pid }));
    const user = root ? (staged.ready as StagedRun) : undefined;
    if (user) await chownTree(s.root, user.user);
    const child = spawn(process.execPath, [user?.cli ?? CLI, 'update', '--config', s.configFile, '--json'], {
      env: s.env,
      cwd: s.env.HOME,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.user.uid, gid: user.user.gid } : {}),
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Read one line, then close our end, as `| head -1` does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|unexpected error|at /);
    expect(code).toBe(0);
    expect(readState(s).lastRun).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
  });

  asUser('the gates are checked again right before the stop: a round that started meanwhile defers, nothing stopped', async () => {
    // The API is idle at the first check and busy from the second on; a slow preflight (sudo) sits between them.
    const s = await setup({ api: { answer: (n) => ({ active: n === 0 ? [] : [{ id: 'job' }] }) }, config: ['SANDBOX_SETUP=always'] });
    const bin = path.join(s.root, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'sudo'), '#!/usr/bin/env bash\nexit 0\n', { mode: 0o755 });
    s.env.PATH = `${bin}:${s.env.PATH}`;
    pushSwappable(s);
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const r = await runAsUser(s);
    expect(r.result, r.stdout).toMatchObject({ outcome: 'deferred', reason: 'api-busy' });
    expect(s.api!.requests.filter((q) => q.url === '/validate/active')).toHaveLength(2);
    expect(s.stops()).toEqual([]);
    expect(fixtureGit(s.deploy, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('recovery removes .git/index.lock only when no git process runs in the clone', async () => {
    const s = await setup();
    const from = git(s.deploy, 'rev-parse', 'HEAD');
    const to = s.origin.push({ 'src/app.py': 'v2\n' });
    await s.run(['--dry-run']);
    const lock = path.join(s.deploy, '.git', 'index.lock');
    fs.writeFileSync(lock, '');
    writeState(s, { quarantine: [], journal: { from, to, phase: 'reset', startedAt: new Date().toISOString(), pid: 999_999 } });
    const user = root ? (staged.ready as StagedRun).user : undefined;
    if (user) await chownTree(s.root, user);
    // A live git in the clone (waiting on its stdin), the operator's own.
    const live = spawn('git', ['-c', 'safe.directory=*', 'cat-file', '--batch'], { cwd: s.deploy, stdio: ['pipe', 'ignore', 'ignore'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    try {
      const r = await s.run(['--json']);
      expect(r.stdout).toContain(`is held by git (pid ${live.pid})`);
      expect(fs.existsSync(lock)).toBe(true);
      expect(r.stderr).not.toContain('unexpected error');
      expect(r.result).toMatchObject({ outcome: 'failed', reason: 'rollback-failed' });
    } finally {
      live.kill();
    }
  });
});

// Kept apart: needs root to mount a small tmpfs as the state folder.
if (!root) console.log('ENOSPC test skipped: needs root to mount a tmpfs');
(root && !staged.skip ? describe : describe.skip)('update with a full filesystem under the state folder', () => {
  it('says so clearly (exit 1) and stops nothing', async () => {
    const user = (staged.ready as StagedRun).user;
    const s = await setup();
    pushSwappable(s);
    const dir = path.dirname(s.stateFile);
    fs.mkdirSync(dir, { recursive: true });
    const { execFileSync } = await import('node:child_process');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=64k,mode=0700,uid=${user.uid},gid=${user.gid}`, 'tmpfs', dir]);
    try {
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'filler')}`, 'bs=4k', 'count=100'], { stdio: 'ignore' });
      } catch {
        // dd stops at ENOSPC: the point
      }
      const r = await runAsUser(s);
      expect(r.exitCode).toBe(1);
      expect(r.stderr + r.stdout).not.toContain('unexpected error');
      expect(r.result).toMatchObject({ outcome: 'failed', reason: 'state-write' });
      expect(r.stdout).toContain('no space left on the filesystem of');
      expect(s.stops()).toEqual([]);
    } finally {
      execFileSync('umount', [dir]);
    }
  });
});

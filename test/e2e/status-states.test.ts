import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, runCli } from '../helpers/cli.js';
import { git } from '../helpers/repo.js';
import { deadPid, statusSetup } from '../helpers/status-setup.js';

// The built CLI against real git repositories, a real HTTP API and state files written
// in the format of src/core/state.ts. No PM2 daemon runs here (status-pm2 covers it):
// PM2 shows as not running, which the advice must say.
const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const texts = (report: Record<string, any>) => (report.advice as { level: string; text: string }[]).map((a) => `${a.level}: ${a.text}`);

describe('status: the update cycle state as the operator sees it', () => {
  it('up to date, no scheduler, PM2 not running: exit 0, every field, advice for each problem', async () => {
    const s = await statusSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    s.writeState({ lastRun: { at: ago(60_000), outcome: 'up-to-date', from: head, to: head } });
    const r = await s.status();
    expect(r.exitCode).toBe(0);
    expect(r.report).toMatchObject({
      namespace: s.namespace,
      config: { file: s.configFile, state: 'ok', problems: [] },
      repo: { dir: s.deploy, remote: 'origin', branch: 'release', relation: 'up-to-date', head: { sha: head, short: head.slice(0, 7), subject: 'initial' }, target: { sha: head } },
      scheduler: { kind: 'none', active: false },
      lastRun: { outcome: 'up-to-date', from: head },
      gates: { roundLock: { file: s.roundLock, state: 'absent' }, api: { endpoint: s.apiUrl, state: 'idle' } },
      pm2: { state: 'not-running', processes: [] },
      quarantine: [],
    });
    expect(r.report.journal).toBeUndefined();
    expect(r.report.deferral).toBeUndefined();
    expect(texts(r.report)).toContainEqual(`warn: No auto-update timer or crontab line for namespace ${s.namespace}: updates never run. Install it: alphacore autoupdate enable --namespace ${s.namespace}`);
    expect(texts(r.report)).toContainEqual(expect.stringMatching(/^error: PM2 is not running .*pm2 resurrect/));
    // The API was asked exactly once, the way update asks it.
    expect(s.api!.requests.map((q) => q.url)).toEqual(['/validate/active']);
  });

  it('behind: the remote-tracking ref as of the last fetch; status itself never fetches', async () => {
    const s = await statusSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const fetched = s.origin.push({ 'src/app.py': 'print("v2")\n' }, 'release 2');
    git(s.deploy, 'fetch', '--quiet', 'origin', 'release');
    s.origin.push({ 'src/app.py': 'print("v3")\n' }, 'release 3'); // not fetched
    const r = await s.status();
    expect(r.exitCode).toBe(0);
    expect(r.report.repo).toMatchObject({ relation: 'update-available', head: { sha: head }, target: { sha: fetched, subject: 'release 2' } });
    expect(r.report.repo.fetchedAt).toEqual(expect.any(String));
    expect(git(s.deploy, 'rev-parse', 'origin/release')).toBe(fetched);
    expect(texts(r.report)).toContainEqual(expect.stringContaining(`origin/release is at ${fetched.slice(0, 7)} (as of the last fetch), HEAD at ${head.slice(0, 7)}; deploy it with: alphacore update --config ${s.configFile}`));
    const human = await s.status([]);
    expect(human.stdout).toMatch(/^Remote {7}origin\/release [0-9a-f]{7} release 2 \(committed .* ago\)$/m);
    expect(human.stdout).toMatch(/^ {13}differs from HEAD: update available \(as of the last fetch, .* ago; status does not fetch\)$/m);
  });

  it('deferred longer than MAX_DEFERRAL, a live round lock and a busy API', async () => {
    const s = await statusSetup({ api: { active: [{ id: 'job-1' }, { id: 'job-2' }] }, config: ['MAX_DEFERRAL=6h'] });
    const since = ago(7 * HOUR);
    s.writeState({ deferral: { since, notified: true }, lastRun: { at: ago(60_000), outcome: 'deferred', reason: 'round-active' } });
    fs.writeFileSync(s.roundLock, JSON.stringify({ round_id: 12, block: 3400, ts: Date.now() / 1000, pid: process.pid }));
    const r = await s.status();
    expect(r.exitCode).toBe(0);
    expect(r.report).toMatchObject({
      deferral: { since, maxMs: 6 * HOUR, overdue: true, notified: true },
      lastRun: { outcome: 'deferred', reason: 'round-active' },
      gates: { roundLock: { state: 'live', detail: `round 12 at block 3400, pid ${process.pid}` }, api: { state: 'busy', jobs: 2 } },
    });
    expect(r.report.deferral.forMs).toBeGreaterThan(7 * HOUR - 60_000);
    const advice = texts(r.report).find((t) => t.includes('deferred for'));
    expect(advice).toMatch(/^warn: Updates have been deferred for 7h.*longer than MAX_DEFERRAL=6h\. The round lock .* has been held throughout/);
    expect(advice).toContain(`alphacore update --config ${s.configFile} --force`);
  });

  it('deferred within MAX_DEFERRAL: shown, no advice; a stale round lock is named stale', async () => {
    const s = await statusSetup({ config: ['MAX_DEFERRAL=12h'] });
    s.writeState({ deferral: { since: ago(7 * HOUR), notified: false } });
    fs.writeFileSync(s.roundLock, JSON.stringify({ round_id: 3, ts: Date.now() / 1000, pid: deadPid() }));
    const r = await s.status();
    expect(r.report).toMatchObject({ deferral: { overdue: false, maxMs: 12 * HOUR }, gates: { roundLock: { state: 'stale' } } });
    expect(texts(r.report).some((t) => t.includes('deferred for'))).toBe(false);
  });

  it('quarantined: the entry, and the advice says it is the current target', async () => {
    const s = await statusSetup();
    const bad = s.origin.push({ 'src/app.py': 'raise SystemExit(1)\n' }, 'broken release');
    git(s.deploy, 'fetch', '--quiet', 'origin', 'release');
    const at = ago(HOUR);
    s.writeState({ quarantine: [{ sha: bad, at, reason: 'health-check' }], lastRun: { at: ago(60_000), outcome: 'skipped', reason: 'quarantined' } });
    const r = await s.status();
    expect(r.report).toMatchObject({ quarantine: [{ sha: bad, at, reason: 'health-check' }], repo: { relation: 'update-available', target: { sha: bad } } });
    expect(texts(r.report)).toContainEqual(
      `warn: Release ${bad.slice(0, 7)} was rolled back 1h ago (health-check) and is quarantined; it is the current origin/release, so updates stop until the branch moves. To retry it anyway once the cause is fixed: alphacore update --config ${s.configFile} --force`,
    );
    // No "deploy it" advice for a commit the updater will skip.
    expect(texts(r.report).some((t) => t.includes('deploy it with'))).toBe(false);
  });

  it('interrupted journal: shown with its phase, advice to finish or roll back now', async () => {
    const s = await statusSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const to = s.origin.push({ 'src/app.py': 'print("v2")\n' }, 'release 2');
    const pid = deadPid();
    s.writeState({ journal: { from: head, to, phase: 'reset', startedAt: ago(10 * 60_000), pid } });
    const r = await s.status();
    expect(r.report.journal).toEqual({ from: head, to, phase: 'reset', startedAt: expect.any(String), pid, running: false });
    expect(texts(r.report)[0]).toBe(
      `error: An update from ${head.slice(0, 7)} to ${to.slice(0, 7)} was interrupted in phase reset (started 10m ago; pid ${pid} is gone). The next update run finishes or rolls it back; to do it now: alphacore update --config ${s.configFile}`,
    );
  });

  it('history: the last change; a failed last run points at the log', async () => {
    const s = await statusSetup();
    fs.mkdirSync(path.dirname(s.historyFile), { recursive: true });
    fs.writeFileSync(s.historyFile, `${JSON.stringify({ at: ago(2 * HOUR), from: 'a'.repeat(40), to: 'b'.repeat(40), outcome: 'updated', reason: null })}\n`);
    s.writeState({ lastRun: { at: ago(60_000), outcome: 'failed', reason: 'fetch' } });
    const r = await s.status();
    expect(r.report.lastChange).toEqual({ at: expect.any(String), outcome: 'updated', from: 'a'.repeat(40), to: 'b'.repeat(40) });
    expect(texts(r.report)).toContainEqual(expect.stringMatching(new RegExp(`^error: The last update run \\(1m ago\\) ended failed \\(fetch\\): read the log in .*${s.namespace}\\.log\\.$`)));
  });

  it('the downtime of the last update and its phases (from the history)', async () => {
    const s = await statusSetup();
    fs.mkdirSync(path.dirname(s.historyFile), { recursive: true });
    const phasesMs = { prepare: 31_000, reset: 200, api: 1500, validator: 2100, health: 2600 };
    fs.writeFileSync(s.historyFile, `${JSON.stringify({ at: ago(HOUR), from: 'a'.repeat(40), to: 'b'.repeat(40), outcome: 'updated', reason: null, phasesMs, downtimeMs: 4321 })}\n`);
    const r = await s.status();
    expect(r.report.lastChange).toMatchObject({ downtimeMs: 4321, phasesMs });
  });

  it('a hanging API counts as unreachable within its budget', async () => {
    const s = await statusSetup({ api: { hang: true } });
    const r = await s.status();
    expect(r.exitCode).toBe(0);
    expect(r.report.gates.api).toMatchObject({ state: 'unreachable', detail: expect.stringContaining('no answer within 1000 ms') });
  });
});

describe('status: config missing, invalid or unreadable', () => {
  it('--namespace with no config: what can be known, and advice to run launch', async () => {
    const s = await statusSetup();
    const ns = `${s.namespace}-noconf`;
    const dir = path.dirname(s.stateFile);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${ns}.state.json`), JSON.stringify({ quarantine: [{ sha: 'c'.repeat(40), at: ago(HOUR), reason: 'rollback' }] }));
    // As the user: root without a config is told to run status as the validator's user (status-root).
    const r = await s.cli(['status', '--namespace', ns, '--json']);
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    expect(report).toMatchObject({
      namespace: ns,
      config: { state: 'missing', file: path.join(s.env.XDG_CONFIG_HOME!, 'alphacore', 'autoupdate', `${ns}.env`) },
      repo: { relation: 'unknown' },
      quarantine: [{ sha: 'c'.repeat(40) }],
      scheduler: { kind: 'none' },
      pm2: { state: 'not-running' },
    });
    expect(texts(report)[0]).toMatch(/^error: No auto-update config for namespace .*: run alphacore launch/);
    // The launch advice covers the timer; no second line about it.
    expect(texts(report).some((t) => t.includes('autoupdate enable'))).toBe(false);
  });

  it('a config that fails validation: exit 0, the problems, and the rest still shown', async () => {
    const s = await statusSetup({ config: ['NETUID=abc'] });
    const r = await s.status();
    expect(r.exitCode).toBe(0);
    // The problem names the file and line, as update's own error does.
    const problem = `${s.configFile}:${fs.readFileSync(s.configFile, 'utf8').split('\n').indexOf('NETUID=abc') + 1}: NETUID=abc must be a subnet uid, an integer 0-65535.`;
    expect(r.report).toMatchObject({ config: { state: 'invalid', problems: [problem] }, repo: { dir: s.deploy, relation: 'up-to-date' } });
    expect(texts(r.report)[0]).toContain(`is invalid, so every update run stops at once: ${problem}`);
  });

  it('a --config that does not exist: exit 2; one that does not parse is shown (DESIGN.md §7), and nothing in it runs', async () => {
    const s = await statusSetup();
    const missing = await runCli(['status', '--config', path.join(s.root, 'nope.env')], { env: s.env });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`--config: ${path.join(s.root, 'nope.env')} does not exist.`);
    const marker = path.join(s.root, 'pwned');
    fs.appendFileSync(s.configFile, `REPO_DIR=$(touch ${marker})\n`);
    const bad = await s.status();
    expect(bad.exitCode).toBe(0);
    expect(bad.report.config.problems).toContainEqual(expect.stringMatching(/alphacore\.env:\d+: REPO_DIR uses \$\(\.\.\.\) command substitution/));
    expect(fs.existsSync(marker)).toBe(false);
    const both = await runCli(['status', '--config', s.configFile, '--namespace', 'x'], { env: s.env });
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/mutually exclusive/);
  });

  it('--json: a config that cannot be read is one JSON error object on stdout, the same by the plain-status entry and by yargs (defect 12)', async () => {
    const s = await statusSetup();
    const nofile = path.join(s.root, 'bad', 'nofile.env');
    // `--config FILE` goes to the bundled plain-status entry, `--config=FILE` through yargs.
    const plain = await runCli(['status', '--json', '--config', nofile], { env: s.env });
    const yargs = await runCli(['status', '--json', `--config=${nofile}`], { env: s.env });
    for (const r of [plain, yargs]) {
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({
        ok: false,
        error: {
          kind: 'usage',
          exitCode: 2,
          message: `--config: ${nofile} does not exist.`,
          hint: 'Pass the auto-update config that `alphacore launch` wrote, or --namespace NS for ~/.config/alphacore/autoupdate/NS.env.',
        },
      });
    }
    const badName = await runCli(['status', '--json', '--namespace', 'no/such'], { env: s.env });
    expect(badName.exitCode).toBe(2);
    expect(JSON.parse(badName.stdout)).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2 } });
  });

});

describe('status: the screen', () => {
  it('human screen: aligned labels, no colour when stdout is not a TTY', async () => {
    const s = await statusSetup();
    const r = await s.status([], { FORCE_COLOR: '1' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    const labels = ['Config', 'Repo', 'HEAD', 'Remote', 'Scheduler', 'Linger', 'Last run', 'Last change', 'Deferred', 'Round lock', 'API', 'PM2', 'PM2 startup', 'Quarantine', 'Journal'];
    for (const label of labels) expect(r.stdout).toMatch(new RegExp(`^${label} +\\S`, 'm'));
    const valueColumns = new Set(r.stdout.split('\n').filter((l) => /^[A-Z][A-Za-z0-9 ]+ {2,}\S/.test(l) && !l.startsWith('What')).map((l) => /^\S+(?: \S+)? +/.exec(l)![0].length));
    expect([...valueColumns]).toEqual([13]);
    expect(r.stdout).toContain('What to do next:');
  });

  // util-linux `script` runs the CLI on a real pseudo-terminal.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('on a TTY: coloured, unless NO_COLOR is set (skipped without util-linux `script`)', async () => {
    const s = await statusSetup();
    // Async: the fake API answers from this process's event loop.
    const onTty = (env: Record<string, string>) =>
      execa('script', ['-qec', `${process.execPath} ${CLI} status --config ${s.configFile}`, '/dev/null'], { env, extendEnv: false, reject: false, timeout: 30_000 });
    const { NO_COLOR: _, ...colourEnv } = s.env;
    const coloured = await onTty(colourEnv);
    expect(coloured.exitCode).toBe(0);
    expect(coloured.stdout).toContain('\u001b[32midle\u001b[39m');
    const plainTty = await onTty({ ...s.env, NO_COLOR: '1' });
    expect(plainTty.stdout).toContain('API          idle');
    expect(plainTty.stdout).not.toMatch(/\u001b\[/);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { infoCommit, parseProm, PROMTOOL_MISSING, readProm } from '../helpers/prom.js';
import { git } from '../helpers/repo.js';
import { updateSetup, type UpdateSetup } from '../helpers/update-setup.js';

if (PROMTOOL_MISSING) console.log(`update metrics e2e tests skipped: ${PROMTOOL_MISSING}`);
const suite = PROMTOOL_MISSING ? describe.skip : describe;

async function withMetrics(options: Parameters<typeof updateSetup>[0] = {}): Promise<UpdateSetup & { metricsDir: string; prom: string }> {
  const s = await updateSetup(options);
  const metricsDir = path.join(s.root, 'textfile');
  fs.mkdirSync(metricsDir);
  // Owned like the deploy clone: whoever the setup runs the CLI as must write here.
  const owner = fs.statSync(s.deploy);
  fs.chownSync(metricsDir, owner.uid, owner.gid);
  fs.appendFileSync(s.configFile, `METRICS_DIR=${metricsDir}\n`);
  return { ...s, metricsDir, prom: path.join(metricsDir, 'alphacore_alphacore.prom') };
}

const ns = { namespace: 'alphacore' };

suite('update writes METRICS_DIR/alphacore_<ns>.prom after every kind of run (promtool-checked, values checked)', () => {
  it('up-to-date: deployed = target = HEAD, behind 0, one run counted; `alphacore metrics` prints the same text', async () => {
    const s = await withMetrics();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const before = Date.now() / 1000;
    expect((await s.run()).exitCode).toBe(0);
    const p = readProm(s.prom);
    expect(infoCommit(p.samples, 'alphacore_deployed_info')).toBe(head);
    expect(infoCommit(p.samples, 'alphacore_target_info')).toBe(head);
    expect(p.value('alphacore_behind_seconds')).toBe(0);
    expect(p.value('alphacore_runs_total', { ...ns, outcome: 'up-to-date' })).toBe(1);
    expect(p.value('alphacore_runs_total', { outcome: 'updated' })).toBe(0);
    expect(p.value('alphacore_last_run_timestamp_seconds', { outcome: 'up-to-date' })).toBeGreaterThanOrEqual(Math.floor(before));
    expect(p.value('alphacore_rollbacks_total')).toBe(0);
    expect(p.value('alphacore_quarantined_commits')).toBe(0);
    // No PM2 runs here: both expected processes are down.
    expect(p.value('alphacore_pm2_process_up', { name: 'validator-hotkey-test' })).toBe(0);
    expect(p.value('alphacore_pm2_process_up', { name: 'alphacore-validation-api' })).toBe(0);
    expect(fs.statSync(s.prom).mode & 0o777).toBe(0o644);
    // Nothing but the .prom file is left in the collector's directory.
    expect(fs.readdirSync(s.metricsDir)).toEqual(['alphacore_alphacore.prom']);

    const shown = await runCli(['metrics', '--config', s.configFile], { env: s.env });
    expect(shown.exitCode).toBe(0);
    expect(`${shown.stdout}\n`).toBe(p.text); // execa drops the final newline
    expect(`${(await runCli(['metrics'], { env: s.env })).stdout}\n`).toBe(p.text);

    expect((await s.run()).exitCode).toBe(0);
    expect(readProm(s.prom).value('alphacore_runs_total', { outcome: 'up-to-date' })).toBe(2);
  });

  it('deferred, then a failed fetch: deferral counted per reason, behind keeps growing instead of reading 0', async () => {
    const s = await withMetrics();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const next = s.origin.push({ 'src/app.py': 'print("v2")\n' });
    fs.writeFileSync(s.roundLock, JSON.stringify({ round_id: 1, block: 1, ts: Date.now() / 1000, pid: process.pid }));
    let r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
    let p = readProm(s.prom);
    expect(infoCommit(p.samples, 'alphacore_deployed_info')).toBe(head);
    expect(infoCommit(p.samples, 'alphacore_target_info')).toBe(next);
    expect(p.value('alphacore_deferrals_total', { reason: 'round-active' })).toBe(1);
    expect(p.value('alphacore_deferrals_total', { reason: 'api-busy' })).toBe(0);
    expect(p.value('alphacore_runs_total', { outcome: 'deferred' })).toBe(1);

    r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'deferred' });
    p = readProm(s.prom);
    expect(p.value('alphacore_deferrals_total', { reason: 'round-active' })).toBe(2);
    const behind = p.value('alphacore_behind_seconds')!;
    expect(behind).toBeGreaterThan(0);

    git(s.deploy, 'remote', 'set-url', 'origin', path.join(s.root, 'gone.git'));
    r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'fetch-failed' });
    p = readProm(s.prom);
    expect(p.value('alphacore_runs_total', { outcome: 'failed' })).toBe(1);
    expect(p.value('alphacore_behind_seconds')).toBeGreaterThan(behind);
    // What was last known stays: the machine is at head, origin had `next`.
    expect(infoCommit(p.samples, 'alphacore_deployed_info')).toBe(head);
    expect(infoCommit(p.samples, 'alphacore_target_info')).toBe(next);
    expect(p.value('alphacore_runs_total', { outcome: 'deferred' })).toBe(2);
  });

  it('invalid config: exit 2 as before, and the run is counted in the file (namespace from the file name)', async () => {
    const s = await withMetrics({ config: ['NETUID=abc'] });
    let r = await s.run();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('NETUID=abc must be a subnet uid, an integer 0-65535');
    let p = readProm(s.prom);
    expect(p.value('alphacore_runs_total', { ...ns, outcome: 'invalid-config' })).toBe(1);
    expect(p.value('alphacore_last_run_timestamp_seconds', { outcome: 'invalid-config' })).toBeGreaterThan(0);
    // A file that does not even parse: METRICS_DIR is still read from its own line.
    fs.appendFileSync(s.configFile, 'BRANCH=$(reboot)\n');
    r = await s.run(['--json']);
    expect(r.exitCode).toBe(2);
    p = readProm(s.prom);
    expect(p.value('alphacore_runs_total', { outcome: 'invalid-config' })).toBe(2);
  });

  it('runs at once: every one exits cleanly and the file is always whole and valid', async () => {
    const s = await withMetrics();
    expect((await s.run()).exitCode).toBe(0);
    // A reader that keeps reading while the runs rewrite the file: every read is whole.
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        const text = fs.readFileSync(s.prom, 'utf8');
        expect(text.endsWith('\n')).toBe(true);
        expect(text).toContain('# TYPE alphacore_pm2_process_up gauge');
        expect(parseProm(text).length).toBeGreaterThan(10);
        reads += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const runs = await Promise.all(Array.from({ length: 4 }, () => s.run(['--json'])));
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    const outcomes = runs.map((r) => r.result?.outcome).sort();
    for (const r of runs) expect(r.exitCode).toBe(0);
    expect(outcomes.filter((o) => o === 'up-to-date').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o === 'up-to-date' || o === 'locked')).toBe(true);
    const p = readProm(s.prom);
    // A `locked` run leaves the state and the file to the run that holds the lock.
    expect(p.value('alphacore_runs_total', { outcome: 'up-to-date' })).toBe(1 + outcomes.filter((o) => o === 'up-to-date').length);
    expect(fs.readdirSync(s.metricsDir)).toEqual(['alphacore_alphacore.prom']);
  });

  it('a state file from before metrics is read as it is; counting starts from it', async () => {
    const s = await withMetrics();
    fs.mkdirSync(path.dirname(s.stateFile), { recursive: true });
    fs.writeFileSync(s.stateFile, JSON.stringify({ quarantine: [{ sha: 'f'.repeat(40), at: '2026-01-01T00:00:00Z', reason: 'health-failed' }], lastRun: { at: '2026-01-01T00:00:00Z', outcome: 'updated' } }));
    expect((await s.run()).exitCode).toBe(0);
    const p = readProm(s.prom);
    expect(p.value('alphacore_quarantined_commits')).toBe(1);
    expect(p.value('alphacore_runs_total', { outcome: 'up-to-date' })).toBe(1);
    expect(JSON.parse(fs.readFileSync(s.stateFile, 'utf8'))).toMatchObject({ quarantine: [{ sha: 'f'.repeat(40) }], metrics: { runs: { 'up-to-date': 1 } } });
  });

  it('METRICS_DIR missing: the update still succeeds, with a warning naming the fix', async () => {
    const s = await withMetrics();
    fs.rmSync(s.metricsDir, { recursive: true });
    const r = await s.run();
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`cannot write metrics ${s.prom} (ENOENT): create METRICS_DIR=${s.metricsDir}`);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import { infoCommit, PROMTOOL_MISSING, readProm } from '../helpers/prom.js';
import { restartWorld } from '../helpers/restart-world.js';
import { stage, userTempDir, type StagedRun } from '../helpers/user.js';

const staged = stage();
const skip = staged.skip ?? PROMTOOL_MISSING;
if (skip) console.log(`update metrics restart e2e tests skipped: ${skip}`);
const run = staged.ready as StagedRun;
const e2e = skip ? describe.skip : describe;

const ns = { namespace: 'alphacore' };

e2e('metrics after updates and rollbacks (built CLI as a non-root user, real PM2, fixture services, promtool)', () => {
  it('launch --metrics-dir writes METRICS_DIR; an update, a rollback and the quarantine show in the file', async () => {
    const metricsDir = userTempDir(run.user, 'alphacore-textfile-');
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' }, launchFlags: ['--metrics-dir', metricsDir] });
    expect(fs.readFileSync(w.configFile, 'utf8')).toContain(`METRICS_DIR=${metricsDir}\n`);
    const prom = path.join(metricsDir, 'alphacore_alphacore.prom');
    const first = w.head();

    const good = pushRelease(w.setup.origin, { version: '1.1.0' });
    // Exactly the timer's command line: the bundled entry (bin/alphacore.js) does the update.
    let r = await w.update();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`result: updated (updated ${first.slice(0, 7)} -> ${good.slice(0, 7)})`);
    // The bundle's lazy chunks reach the operator's pm2 package for the daemon connection.
    expect(r.stdout).toContain("PM2 through its daemon's socket (pm2 ");
    let p = readProm(prom);
    expect(infoCommit(p.samples, 'alphacore_deployed_info')).toBe(good);
    expect(infoCommit(p.samples, 'alphacore_target_info')).toBe(good);
    expect(p.value('alphacore_behind_seconds', ns)).toBe(0);
    expect(p.value('alphacore_runs_total', { outcome: 'updated' })).toBe(1);
    const downtime = p.value('alphacore_last_update_downtime_seconds', ns)!;
    expect(downtime).toBeGreaterThan(0);
    expect(downtime * 1000).toBeCloseTo(w.history().at(-1)!.downtimeMs as number, 0);
    expect(p.value('alphacore_pm2_process_up', { name: 'validator-hot-test' })).toBe(1);
    expect(p.value('alphacore_pm2_process_up', { name: 'alphacore-validation-api' })).toBe(1);

    const bad = pushRelease(w.setup.origin, { version: '2.0.0', validator: 'crash' });
    r = await w.update(['--json']);
    expect(r.result).toMatchObject({ outcome: 'rolled-back', from: good, to: bad });
    p = readProm(prom);
    expect(p.value('alphacore_rollbacks_total', ns)).toBe(1);
    expect(infoCommit(p.samples, 'alphacore_deployed_info')).toBe(good);
    expect(infoCommit(p.samples, 'alphacore_target_info')).toBe(bad);
    expect(p.value('alphacore_quarantined_commits', ns)).toBe(1);
    expect(p.value('alphacore_runs_total', { outcome: 'rolled-back' })).toBe(1);
    expect(p.value('alphacore_runs_total', { outcome: 'updated' })).toBe(1);
    expect(p.value('alphacore_pm2_process_up', { name: 'validator-hot-test' })).toBe(1);

    r = await w.update(['--json']);
    expect(r.result).toMatchObject({ outcome: 'skipped', reason: 'quarantined' });
    p = readProm(prom);
    expect(p.value('alphacore_rollbacks_total', ns)).toBe(1);
    expect(p.value('alphacore_behind_seconds', ns)).toBeGreaterThan(0);
    expect(p.value('alphacore_runs_total', { outcome: 'skipped' })).toBe(1);

    // The validator dies outside any update: the next run says so.
    w.pm2.pm2('stop', 'validator-hot-test');
    await w.update(['--json']);
    p = readProm(prom);
    expect(p.value('alphacore_pm2_process_up', { name: 'validator-hot-test' })).toBe(0);
    expect(p.value('alphacore_pm2_process_up', { name: 'alphacore-validation-api' })).toBe(1);
  }, 300_000);
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { behindSeconds, countRun, emptyMetrics, escapeLabelValue, normalizeMetrics, renderMetrics, type MetricsState } from '../../src/core/metrics.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T0 = '2026-11-30T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

function runs(...steps: Parameters<typeof countRun>[1][]): MetricsState {
  return steps.reduce<MetricsState>((m, step) => countRun(m, step), emptyMetrics());
}

describe('renderMetrics: exact text', () => {
  it('after an up-to-date run, then a deferral, then an update with downtime', () => {
    const m = runs(
      { at: at(0), outcome: 'up-to-date', from: A, to: A, pm2Up: { 'alphacore-validation-api': 1, 'validator-hot-test': 1 } },
      { at: at(2), outcome: 'deferred', reason: 'round-active', from: A, to: B },
      { at: at(5), outcome: 'deferred', reason: 'round-active', from: A, to: B },
      { at: at(7), outcome: 'updated', from: A, to: B, downtimeMs: 4321, pm2Up: { 'alphacore-validation-api': 1, 'validator-hot-test': 0 } },
    );
    expect(renderMetrics('alphacore', m, 0)).toBe(
      [
        '# HELP alphacore_deployed_info The commit the deploy clone is at (1); absent when a failed rollback left it unknown.',
        '# TYPE alphacore_deployed_info gauge',
        `alphacore_deployed_info{namespace="alphacore",commit="${B}"} 1`,
        '# HELP alphacore_target_info The commit the updater wants to deploy: REMOTE/BRANCH, --to or PIN (1).',
        '# TYPE alphacore_target_info gauge',
        `alphacore_target_info{namespace="alphacore",commit="${B}"} 1`,
        '# HELP alphacore_behind_seconds Seconds since the first run that saw the target differ from the deployed commit; 0 when equal; while fetches fail, the time since the last run that knew it was current.',
        '# TYPE alphacore_behind_seconds gauge',
        'alphacore_behind_seconds{namespace="alphacore"} 0',
        '# HELP alphacore_last_run_timestamp_seconds Unix time of the last update run, per outcome.',
        '# TYPE alphacore_last_run_timestamp_seconds gauge',
        'alphacore_last_run_timestamp_seconds{namespace="alphacore",outcome="deferred"} 1796033100',
        'alphacore_last_run_timestamp_seconds{namespace="alphacore",outcome="up-to-date"} 1796032800',
        'alphacore_last_run_timestamp_seconds{namespace="alphacore",outcome="updated"} 1796033220',
        '# HELP alphacore_runs_total Update runs, per outcome.',
        '# TYPE alphacore_runs_total counter',
        'alphacore_runs_total{namespace="alphacore",outcome="deferred"} 2',
        'alphacore_runs_total{namespace="alphacore",outcome="failed"} 0',
        'alphacore_runs_total{namespace="alphacore",outcome="invalid-config"} 0',
        'alphacore_runs_total{namespace="alphacore",outcome="refused"} 0',
        'alphacore_runs_total{namespace="alphacore",outcome="restored"} 0',
        'alphacore_runs_total{namespace="alphacore",outcome="rolled-back"} 0',
        'alphacore_runs_total{namespace="alphacore",outcome="skipped"} 0',
        'alphacore_runs_total{namespace="alphacore",outcome="up-to-date"} 1',
        'alphacore_runs_total{namespace="alphacore",outcome="updated"} 1',
        'alphacore_runs_total{namespace="alphacore",outcome="would-update"} 0',
        '# HELP alphacore_deferrals_total Deferred update runs, per reason.',
        '# TYPE alphacore_deferrals_total counter',
        'alphacore_deferrals_total{namespace="alphacore",reason="api-busy"} 0',
        'alphacore_deferrals_total{namespace="alphacore",reason="api-unknown"} 0',
        'alphacore_deferrals_total{namespace="alphacore",reason="round-active"} 2',
        '# HELP alphacore_rollbacks_total Rollbacks started (a failing rollback retried later counts once).',
        '# TYPE alphacore_rollbacks_total counter',
        'alphacore_rollbacks_total{namespace="alphacore"} 0',
        '# HELP alphacore_restores_total Restores of a namespace PM2 had lost (daemon gone, a process missing or errored), at the deployed commit.',
        '# TYPE alphacore_restores_total counter',
        'alphacore_restores_total{namespace="alphacore"} 0',
        '# HELP alphacore_quarantined_commits Commits that were rolled back and are not tried again until the branch moves.',
        '# TYPE alphacore_quarantined_commits gauge',
        'alphacore_quarantined_commits{namespace="alphacore"} 0',
        '# HELP alphacore_last_update_downtime_seconds Validator downtime of the last update or rollback: first stop to validator healthy.',
        '# TYPE alphacore_last_update_downtime_seconds gauge',
        'alphacore_last_update_downtime_seconds{namespace="alphacore"} 4.321',
        "# HELP alphacore_pm2_process_up 1 when PM2's pid file for the process names a live process, at the last run.",
        '# TYPE alphacore_pm2_process_up gauge',
        'alphacore_pm2_process_up{namespace="alphacore",name="alphacore-validation-api"} 1',
        'alphacore_pm2_process_up{namespace="alphacore",name="validator-hot-test"} 0',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values: backslash, double quote, newline', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const m = runs({ at: at(0), outcome: 'deferred', reason: 'odd "reason"\\\nnext', from: A, to: B });
    expect(renderMetrics('ns', m, 2)).toContain('alphacore_deferrals_total{namespace="ns",reason="odd \\"reason\\"\\\\\\nnext"} 1\n');
  });

  it('the file promtool reads for hostile label values is valid', () => {
    const m = runs({ at: at(0), outcome: 'deferred', reason: 'odd "reason"\\\nnext', from: A, to: B, pm2Up: { 'we"ird\\name': 1 } });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-metrics-unit-')), 'x.prom');
    fs.writeFileSync(file, renderMetrics('ns', m, 0));
    execFileSync('promtool', ['check', 'metrics'], { input: fs.readFileSync(file) });
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});

describe('countRun: counters and behind_seconds', () => {
  it('behind since the first run that saw a new target; 0 again once deployed', () => {
    let m = runs({ at: at(0), outcome: 'up-to-date', from: A, to: A });
    expect(behindSeconds(m)).toBe(0);
    m = countRun(m, { at: at(2), outcome: 'deferred', reason: 'api-busy', from: A, to: B });
    expect(behindSeconds(m)).toBe(0);
    m = countRun(m, { at: at(4), outcome: 'deferred', reason: 'api-busy', from: A, to: C }); // the branch moved again
    expect(behindSeconds(m)).toBe(120);
    m = countRun(m, { at: at(6), outcome: 'updated', from: A, to: C });
    expect(behindSeconds(m)).toBe(0);
    expect(m.deployed).toBe(C);
  });

  it('a failed fetch keeps growing from the last known state, never resets to 0', () => {
    let m = runs({ at: at(0), outcome: 'deferred', reason: 'round-active', from: A, to: B });
    m = countRun(m, { at: at(10), outcome: 'failed', reason: 'fetch-failed' });
    expect(behindSeconds(m)).toBe(600);
    expect(m.deployed).toBe(A);
    expect(m.target).toBe(B);
    // Up to date, then the network goes away: the time since it was last known current.
    m = runs({ at: at(0), outcome: 'up-to-date', from: A, to: A }, { at: at(30), outcome: 'failed', reason: 'fetch-failed' }, { at: at(90), outcome: 'refused', reason: 'dirty-worktree' });
    expect(behindSeconds(m)).toBe(90 * 60);
  });

  it('a rollback counts once per episode; a failed rollback leaves the deployed commit unknown', () => {
    let m = runs({ at: at(0), outcome: 'rolled-back', reason: 'health-failed', from: A, to: B, downtimeMs: 1500 });
    expect(m.rollbacks).toBe(1);
    expect(m.deployed).toBe(A);
    m = countRun(m, { at: at(5), outcome: 'failed', reason: 'rollback-failed', from: A, to: C });
    m = countRun(m, { at: at(7), outcome: 'failed', reason: 'rollback-failed', from: A, to: C });
    expect(m.rollbacks).toBe(2);
    expect(m.deployed).toBeUndefined();
    expect(renderMetrics('alphacore', m, 2)).toContain('# TYPE alphacore_deployed_info gauge\n# HELP alphacore_target_info');
    m = countRun(m, { at: at(9), outcome: 'rolled-back', reason: 'rollback-retried', from: A, to: C });
    expect(m.rollbacks).toBe(2);
    expect(m.deployed).toBe(A);
  });

  it('counts restores of a namespace PM2 lost (§5.5), kept at the restored commit', () => {
    let m = countRun(undefined, { at: at(0), outcome: 'restored', reason: 'pm2-daemon-gone', from: A, to: A });
    m = countRun(m, { at: at(2), outcome: 'up-to-date', from: A, to: A });
    m = countRun(m, { at: at(4), outcome: 'restored', reason: 'process-errored', from: A, to: A });
    expect(m.restores).toBe(2);
    expect(m.deployed).toBe(A);
    expect(renderMetrics('alphacore', m, 0)).toContain('alphacore_restores_total{namespace="alphacore"} 2\n');
    expect(renderMetrics('alphacore', { ...m, restores: 'x' as unknown as number }, 0)).toContain('alphacore_restores_total{namespace="alphacore"} 0\n');
  });

  it('reads state files from before metrics, and hand-edited garbage, without throwing', () => {
    expect(normalizeMetrics(undefined)).toEqual(emptyMetrics());
    expect(normalizeMetrics({ runs: { updated: 'x', 'up-to-date': 3 }, rollbacks: 'no', lastRunAt: { updated: 'never' } })).toEqual({ runs: { 'up-to-date': 3 }, deferrals: {}, rollbacks: 0, lastRunAt: {} });
    expect(countRun({ runs: null } as unknown as MetricsState, { at: at(0), outcome: 'up-to-date', from: A, to: A }).runs).toEqual({ 'up-to-date': 1 });
  });
});

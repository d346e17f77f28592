import { describe, expect, it } from 'vitest';
import { adviseOn } from '../../src/commands/status/advice.js';
import { renderStatus, type Paint } from '../../src/commands/status/render.js';
import { A, B, healthyReport } from '../helpers/status-report.js';

describe('renderStatus: exact text without colour', () => {
  it('a healthy machine', () => {
    expect(renderStatus(healthyReport())).toBe(
      [
        'alphacore status: namespace alphacore at 2026-11-28T12:00:00Z',
        '',
        'Config       /home/op/.config/alphacore/autoupdate/alphacore.env',
        'Repo         /home/op/AlphaCore',
        'HEAD         a1b2c3d Scoring: weight late answers less (committed 2h ago)',
        'Remote       origin/release a1b2c3d Scoring: weight late answers less (committed 2h ago)',
        '             same as HEAD (as of the last fetch, 1m ago; status does not fetch)',
        'Scheduler    systemd timer alphacore-autoupdate@alphacore.timer, active, every 2m, next run in 1m',
        'Linger       on',
        'Last run     2026-11-28T11:59:00Z (1m ago): up-to-date',
        'Last change  2026-11-27T09:00:00Z (1d3h ago): updated b7c8d9e -> a1b2c3d',
        'Deferred     no',
        'Round lock   absent /tmp/alphacore-validator-round.lock',
        'API          idle http://127.0.0.1:8888',
        'PM2          2 processes in namespace alphacore',
        '             NAME                      ID  STATUS  PID   UPTIME  RESTARTS',
        '             alphacore-validation-api  0   online  4120  1d3h    0',
        '             validator-hk1-finney      1   online  4188  1d2h    2',
        'PM2 startup  configured (/etc/systemd/system/pm2-op.service), process list saved',
        'Quarantine   none',
        'Journal      none (no interrupted update)',
        '',
        'All good: nothing to do.',
        '',
      ].join('\n'),
    );
  });

  it('a pinned host: the branch has a commit HEAD does not run, and the PIN is why it is not taken', () => {
    const r = healthyReport();
    r.repo.target = { sha: B, short: B.slice(0, 7), subject: 'Broken release', time: '2026-11-28T11:00:00.000Z' };
    r.repo.relation = 'update-available';
    r.repo.pin = A;
    r.repo.heldByPin = true;
    const lines = renderStatus(r).split('\n');
    expect(lines).toContain('             differs from HEAD: not taken, the PIN holds this host (as of the last fetch, 1m ago; status does not fetch)');
    expect(lines.join('\n')).not.toContain('update available');
  });

  it('a machine in trouble: every section in its unhealthy form, and the advice', () => {
    const r = healthyReport();
    r.repo.target = { sha: B, short: B.slice(0, 7), subject: 'Broken release', time: '2026-11-28T11:00:00.000Z' };
    r.repo.relation = 'update-available';
    r.scheduler = { kind: 'none', active: false, detail: 'no timer or crontab line is installed for namespace alphacore' };
    r.lastRun = { at: '2026-11-28T11:58:00.000Z', outcome: 'deferred', reason: 'round-active', from: A, to: B };
    r.deferral = { since: '2026-11-28T04:00:00.000Z', forMs: 8 * 3_600_000, maxMs: 6 * 3_600_000, overdue: true, notified: true };
    r.gates = { roundLock: { file: '/tmp/r.lock', state: 'live', detail: 'round 9, pid 4188' }, api: { endpoint: 'http://127.0.0.1:8888', state: 'busy', jobs: 3 } };
    r.pm2.processes = [{ name: 'validator-hk1-finney', pmId: 1, status: 'errored', pid: 0, restarts: 15 }];
    r.pm2.startup = { user: 'op', configured: false, saved: false };
    r.quarantine = [{ sha: B, at: '2026-11-28T09:00:00.000Z', reason: 'health-check' }];
    r.journal = { from: A, to: B, phase: 'deploy', startedAt: '2026-11-28T11:30:00.000Z', pid: 999, running: false };
    const { advice: _, ...facts } = r;
    r.advice = adviseOn(facts);
    const text = renderStatus(r);
    const lines = text.split('\n');
    expect(lines).toContain('             differs from HEAD: update available (as of the last fetch, 1m ago; status does not fetch)');
    expect(lines).toContain('Scheduler    none (no timer or crontab line is installed for namespace alphacore)');
    expect(lines).toContain('Last run     2026-11-28T11:58:00Z (2m ago): deferred (round-active) a1b2c3d -> b7c8d9e');
    expect(lines).toContain('Deferred     for 8h since 2026-11-28T04:00:00Z, longer than MAX_DEFERRAL 6h');
    expect(lines).toContain('Round lock   live (round 9, pid 4188) /tmp/r.lock');
    expect(lines).toContain('API          busy, 3 jobs http://127.0.0.1:8888');
    expect(lines).toContain('             validator-hk1-finney  1   errored  0    -       15');
    expect(lines).toContain('Linger       unknown (matters only for a systemd timer)');
    expect(lines).toContain('PM2 startup  not configured for op (no pm2-op boot unit)');
    expect(lines).toContain('Quarantine   b7c8d9e rolled back 3h ago (health-check)');
    expect(lines).toContain('Journal      update a1b2c3d -> b7c8d9e interrupted in phase deploy, started 30m ago, pid 999 gone');
    const advice = lines.slice(lines.indexOf('What to do next:') + 1).filter(Boolean);
    expect(advice.map((l) => l.slice(0, 8))).toEqual(['  ERROR ', '  ERROR ', '  WARN  ', '  WARN  ', '  WARN  ', '  WARN  ']);
  });

  it('colour only through the paint it is given', () => {
    const tag: Paint = { ok: (s) => `<ok>${s}`, warn: (s) => `<warn>${s}`, bad: (s) => `<bad>${s}`, dim: (s) => s, bold: (s) => s };
    const text = renderStatus(healthyReport(), tag);
    expect(text).toContain('Linger       <ok>on');
    expect(text).toContain('<ok>All good: nothing to do.');
    expect(renderStatus(healthyReport())).not.toMatch(/<ok>|\u001b\[/);
  });
});

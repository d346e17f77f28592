import type { StatusReport } from '../../src/commands/status/report.js';

export const A = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
export const B = 'b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f80';
export const NOW = '2026-11-28T12:00:00.000Z';

/** A healthy machine, one validator and the API online, a systemd timer with linger. */
export function healthyReport(): StatusReport {
  return {
    namespace: 'alphacore',
    now: NOW,
    config: { file: '/home/op/.config/alphacore/autoupdate/alphacore.env', state: 'ok', problems: [] },
    repo: {
      dir: '/home/op/AlphaCore',
      remote: 'origin',
      branch: 'release',
      head: { sha: A, short: A.slice(0, 7), subject: 'Scoring: weight late answers less', time: '2026-11-28T10:00:00.000Z' },
      target: { sha: A, short: A.slice(0, 7), subject: 'Scoring: weight late answers less', time: '2026-11-28T10:00:00.000Z' },
      fetchedAt: '2026-11-28T11:59:00.000Z',
      relation: 'up-to-date',
    },
    scheduler: { kind: 'systemd', active: true, unit: 'alphacore-autoupdate@alphacore.timer', interval: '2m', nextRun: '2026-11-28T12:01:30.000Z', linger: true, detail: 'active', logFile: '/home/op/.local/state/alphacore/autoupdate/alphacore.log' },
    lastRun: { at: '2026-11-28T11:59:00.000Z', outcome: 'up-to-date', from: A, to: A },
    lastChange: { at: '2026-11-27T09:00:00.000Z', outcome: 'updated', from: B, to: A },
    gates: { roundLock: { file: '/tmp/alphacore-validator-round.lock', state: 'absent' }, api: { endpoint: 'http://127.0.0.1:8888', state: 'idle' } },
    pm2: {
      state: 'ok',
      bin: 'pm2',
      home: '/home/op/.pm2',
      processes: [
        { name: 'alphacore-validation-api', pmId: 0, status: 'online', pid: 4120, restarts: 0, uptimeMs: 27 * 3_600_000 },
        { name: 'validator-hk1-finney', pmId: 1, status: 'online', pid: 4188, restarts: 2, uptimeMs: 27 * 3_600_000 - 60_000 },
      ],
      startup: { user: 'op', configured: true, unit: '/etc/systemd/system/pm2-op.service', saved: true },
    },
    quarantine: [],
    advice: [],
  };
}


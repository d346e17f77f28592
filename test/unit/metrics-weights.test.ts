import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { emptyMetrics, foldWeights, renderMetrics } from '../../src/core/metrics.js';
import { PROMTOOL_MISSING } from '../helpers/prom.js';

const weightsText = (text: string) => text.split('\n').filter((l) => l.includes('alphacore_validator_weights')).join('\n');

describe('the weights metrics (DESIGN.md §14)', () => {
  it('exact text: the last emission time and the tasks done and needed', () => {
    const m = { ...emptyMetrics(), weights: { lastEmitAt: '2026-12-07T02:44:36.000Z', tasksDone: 2, tasksNeeded: 10 } };
    expect(weightsText(renderMetrics('alphacore', m, 0))).toBe(
      [
        "# HELP alphacore_validator_weights_last_emit_timestamp_seconds Unix time of the validator's last weights emission, from its PM2 out log ([WEIGHTS] Emitted weights on chain).",
        '# TYPE alphacore_validator_weights_last_emit_timestamp_seconds gauge',
        'alphacore_validator_weights_last_emit_timestamp_seconds{namespace="alphacore"} 1796611476',
        '# HELP alphacore_validator_weights_tasks Tasks the validator completed since its start (done) and needs before it sets weights (needed, WEIGHTS_MIN_TASKS_BEFORE_EMIT).',
        '# TYPE alphacore_validator_weights_tasks gauge',
        'alphacore_validator_weights_tasks{namespace="alphacore",kind="done"} 2',
        'alphacore_validator_weights_tasks{namespace="alphacore",kind="needed"} 10',
      ].join('\n'),
    );
    // Never read (an older state file): no families at all.
    expect(weightsText(renderMetrics('alphacore', emptyMetrics(), 0))).toBe('');
  });

  it('an emission once seen is kept when the log no longer shows it; the counts are the latest', () => {
    const before = { lastEmitAt: '2026-12-07T00:00:00.000Z', tasksDone: 12, tasksNeeded: 10 };
    expect(foldWeights(before, { tasksDone: 1, tasksNeeded: 10 })).toEqual({ lastEmitAt: '2026-12-07T00:00:00.000Z', tasksDone: 1, tasksNeeded: 10 });
    expect(foldWeights(before, { lastEmitAt: '2026-12-07T01:12:00.000Z' })).toEqual({ lastEmitAt: '2026-12-07T01:12:00.000Z' });
    expect(foldWeights({ lastEmitAt: 'garbage' }, {})).toEqual({});
  });

  it.skipIf(PROMTOOL_MISSING)('promtool check metrics accepts the file', () => {
    const m = { ...emptyMetrics(), weights: { lastEmitAt: '2026-12-07T02:44:36.000Z', tasksDone: 0, tasksNeeded: 10 } };
    const r = spawnSync('promtool', ['check', 'metrics'], { input: renderMetrics('alphacore', m, 0), encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

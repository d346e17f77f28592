import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/commands/status/render.js';
import { weightsText } from '../../src/commands/status/weights-view.js';
import { B, healthyReport } from '../helpers/status-report.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('the Weights line of status (DESIGN.md §14)', () => {
  it('emitting, warming up, or why it cannot tell', () => {
    expect(weightsText({ state: 'emitting', lastEmitEpoch: 120, lastEmitAt: iso(NOW - 2 * H), tasksDone: 14, tasksNeeded: 10 }, NOW)).toEqual({ level: 'ok', text: 'emitted for epoch 120, 2h ago' });
    expect(weightsText({ state: 'warming-up', tasksDone: 2, tasksNeeded: 10, startedAt: iso(NOW - 3 * H) }, NOW)).toEqual({
      level: 'warn',
      text: 'warming up since the restart 3h ago: 2/10 tasks (no weights until 10)',
    });
    expect(weightsText({ state: 'warming-up', tasksDone: 0, tasksNeeded: 10, startedAt: iso(NOW - 60_000), lastEmitEpoch: 119, lastEmitAt: iso(NOW - H) }, NOW).text).toBe(
      'warming up since the restart 1m ago: 0/10 tasks (no weights until 10); last weights before it: epoch 119, 1h ago',
    );
    expect(weightsText({ state: 'emitting', lastEmitEpoch: 7 }, NOW).text).toBe('emitted for epoch 7, at an unknown time (the log lines carry no date)');
    expect(weightsText({ state: 'unknown', why: 'no validator log at /x.log' }, NOW)).toEqual({ level: 'bad', text: 'cannot tell: no validator log at /x.log' });
  });

  it('on the screen after the PM2 table, with a release that waits and why', () => {
    const r = healthyReport();
    r.weights = { state: 'emitting', lastEmitEpoch: 120, lastEmitAt: iso(NOW - 2 * H) };
    r.restartWait = { sha: B, since: iso(NOW - H), until: '2026-11-29T09:00:00.000Z', detail: 'b7c8d9e waits until 2026-11-29T09:00:00Z: the validator sets weights' };
    const lines = renderStatus(r).split('\n');
    const at = lines.indexOf('Weights      emitted for epoch 120, 2h ago');
    expect(at).toBeGreaterThan(lines.findIndex((l) => l.startsWith('PM2 startup')));
    expect(lines[at + 1]).toBe('             release b7c8d9e waits (RESTART_POLICY=coalesce) until 2026-11-29T09:00:00Z (in 21h): b7c8d9e waits until 2026-11-29T09:00:00Z: the validator sets weights');
  });
});

describe('advice while a release waits for the restart budget', () => {
  it('says until when and how to deploy it now, instead of "the next run deploys it"', async () => {
    const { adviseOn } = await import('../../src/commands/status/advice.js');
    const r = healthyReport();
    r.repo.target = { sha: B, short: B.slice(0, 7), subject: 'next', time: '2026-11-28T11:00:00.000Z' };
    r.repo.relation = 'update-available';
    r.restartWait = { sha: B, since: iso(NOW - H), until: '2026-11-29T09:00:00.000Z', detail: 'why' };
    const { advice: _, ...facts } = r;
    expect(adviseOn(facts).map((a) => a.text)).toContainEqual(expect.stringMatching(/waits for the validator's restart budget \(RESTART_POLICY=coalesce\) until 2026-11-29T09:00:00\.000Z; to deploy it now .* --force/));
  });
});

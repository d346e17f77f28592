import { describe, expect, it } from 'vitest';
import { Budget } from '../../src/commands/update/budget.js';
import { decide, rollbackRetryDelayMs } from '../../src/commands/update/decide.js';
import type { Facts } from '../../src/commands/update/observe.js';
import type { AutoupdateConfig } from '../../src/core/config.js';
import { journalProblem, type Journal } from '../../src/core/state.js';

const config = {
  file: '/c.env',
  values: {},
  namespace: 'alphacore',
  repoDir: '/srv/AlphaCore',
  remote: 'origin',
  branch: 'release',
  roundLockfile: '/tmp/r.lock',
  validationApiEndpoint: 'http://127.0.0.1:8888',
  validatorExtraArgs: [],
  sandboxSetup: 'auto',
  depsRefresh: 'auto',
} as unknown as AutoupdateConfig;

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const NOW = Date.parse('2026-01-01T00:00:00Z');
const flags = { force: false, dryRun: false };
const journal: Journal = { from: A, to: B, phase: 'api', startedAt: '2026-01-01T00:00:00Z', pid: 1 };
const clean: Facts = { journal: { kind: 'none' }, dirty: [], indexLock: { present: false, path: '/srv/AlphaCore/.git/index.lock', holders: [] } };
const remote = { head: A, target: B, branch: 'release', localCommits: [], changed: ['modules/requirements.txt'] };
const idle = { gates: { roundLock: { kind: 'absent' as const }, api: { kind: 'idle' as const } } };

describe('decide (pure: facts -> UpdatePlan)', () => {
  it('asks for exactly as much observation as the decision needs, in order', () => {
    expect(decide({ journal: { kind: 'none' } }, config, flags, NOW)).toEqual({ kind: 'observe', need: 'clone' });
    expect(decide(clean, config, flags, NOW)).toEqual({ kind: 'observe', need: 'remote' });
    expect(decide({ ...clean, ...remote }, config, flags, NOW)).toEqual({ kind: 'observe', need: 'gates' });
    expect(decide({ ...clean, ...remote }, config, { ...flags, force: true }, NOW)).toMatchObject({ kind: 'swap', from: A, to: B, deploy: { deps: true } });
    expect(decide({ ...clean, ...remote, ...idle }, config, flags, NOW)).toMatchObject({ kind: 'swap' });
  });

  it('asks for the diff only once the gates let the update go on (a deferral needs no git diff)', () => {
    const { changed: _changed, ...noDiff } = remote;
    expect(decide({ ...clean, ...noDiff, ...idle }, config, flags, NOW)).toEqual({ kind: 'observe', need: 'changes' });
    expect(decide({ ...clean, ...noDiff, ...idle }, config, { ...flags, dryRun: true }, NOW)).toEqual({ kind: 'observe', need: 'changes' });
    const live = { gates: { roundLock: { kind: 'live' as const, detail: 'round 7' } } };
    expect(decide({ ...clean, ...noDiff, ...live }, config, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'deferred', reason: 'round-active' } });
    expect(decide({ ...clean, ...noDiff, head: A, target: A }, config, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'up-to-date' } });
  });

  it('a dry run with a journal answers would-recover and acts on nothing', () => {
    const plan = decide({ journal: { kind: 'valid', journal } }, config, { ...flags, dryRun: true }, NOW);
    expect(plan).toMatchObject({ kind: 'done', decision: { outcome: 'would-recover' }, from: A, to: B });
    expect(decide({ journal: { kind: 'valid', journal } }, config, flags, NOW)).toMatchObject({ kind: 'recover' });
  });

  it('a failed rollback is retried by the next three runs, then after its backoff (4, 8 ... 30 min), or now with --force', () => {
    const failed = { ...journal, rollbackFailed: true, attempts: 1, nextRetryAt: new Date(NOW + 60_000).toISOString() };
    expect(decide({ journal: { kind: 'valid', journal: failed } }, config, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'failed', reason: 'rollback-failed' } });
    expect(decide({ journal: { kind: 'valid', journal: failed } }, config, { ...flags, force: true }, NOW)).toMatchObject({ kind: 'recover' });
    expect(decide({ journal: { kind: 'valid', journal: failed } }, config, flags, NOW + 61_000)).toMatchObject({ kind: 'recover' });
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => rollbackRetryDelayMs(n) / 60_000)).toEqual([0, 0, 0, 4, 8, 16, 30]);
    expect(rollbackRetryDelayMs(20) / 60_000).toBe(30);
  });

  it('refuses before the stop: a held or fresh index.lock, a clone on another branch with local commits', () => {
    const held = { ...clean, indexLock: { present: true, path: '/x/.git/index.lock', holders: [42], ageMs: 3_600_000 } };
    expect(decide(held, config, flags, NOW)).toMatchObject({ decision: { outcome: 'failed', reason: 'index-locked' } });
    const fresh = { ...clean, indexLock: { present: true, path: '/x/.git/index.lock', holders: [], ageMs: 1000 } };
    expect(decide(fresh, config, flags, NOW)).toMatchObject({ decision: { outcome: 'failed', reason: 'index-locked' } });
    const stale = { ...clean, ...remote, ...idle, indexLock: { present: true, path: '/x/.git/index.lock', holders: [], ageMs: 3_600_000 } };
    expect(decide(stale, config, flags, NOW)).toMatchObject({ kind: 'swap', staleIndexLock: '/x/.git/index.lock' });
    const feature = { ...clean, ...remote, branch: 'feature', localCommits: ['c'.repeat(40)] };
    expect(decide(feature, config, flags, NOW)).toMatchObject({ decision: { outcome: 'refused', reason: 'branch-feature' } });
    const detached = { ...clean, ...remote, branch: undefined, localCommits: ['c'.repeat(40)] };
    expect(decide(detached, config, flags, NOW)).toMatchObject({ decision: { outcome: 'refused', reason: 'detached-head' } });
    // Another branch without local commits loses nothing: allowed.
    expect(decide({ ...clean, ...remote, ...idle, branch: 'main', localCommits: [] }, config, flags, NOW)).toMatchObject({ kind: 'swap' });
  });

  it('journals are validated by shape before anything acts on them', () => {
    expect(journalProblem('garbage')).toBe('it is not an object');
    expect(journalProblem({ from: 'HEAD', to: B, phase: 'x' })).toMatch(/"from" is not a commit id/);
    expect(journalProblem(journal)).toBeUndefined();
  });

  it('a step timeout is its own cap within what is left of its stage', () => {
    let t = 0;
    const b = new Budget(() => t, 10_000, 'swap');
    expect(b.cap(3000)).toBe(3000);
    t = 8000;
    expect(b.cap(3000)).toBe(2000);
    t = 20_000;
    expect(b.expired()).toBe(true);
    expect(b.cap(3000)).toBe(1000);
  });
});

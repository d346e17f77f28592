import { describe, expect, it } from 'vitest';
import { Budget } from '../../src/commands/update/budget.js';
import { decide, rollbackRetryDelayMs } from '../../src/commands/update/decide.js';
import type { Facts } from '../../src/commands/update/observe.js';
import { journalProblem, type Journal } from '../../src/core/state.js';
import { decideConfig } from '../helpers/decide-config.js';

const config = decideConfig();

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const NOW = Date.parse('2026-01-01T00:00:00Z');
const flags = { force: false };
const journal: Journal = { from: A, to: B, phase: 'api', startedAt: '2026-01-01T00:00:00Z', pid: 1 };
const clean: Facts = { journal: { kind: 'none' }, dirty: [], indexLock: { present: false, path: '/srv/AlphaCore/.git/index.lock', holders: [] } };
const observed = { venvs: { sides: {}, fallback: { dir: '/srv/AlphaCore/venv' } }, processes: { names: ['validator-h-finney', 'alphacore-validation-api'] } };
const remote = { head: A, target: B, branch: 'release', localCommits: [], changed: ['modules/requirements.txt'], ...observed };
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
    const live = { gates: { roundLock: { kind: 'live' as const, detail: 'round 7' } } };
    expect(decide({ ...clean, ...noDiff, ...live }, config, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'deferred', reason: 'round-active' } });
    expect(decide({ ...clean, ...noDiff, head: A, target: A }, config, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'up-to-date' } });
  });

  it('a journal plans its recovery: the rollback to its "from" commit, step by step', () => {
    const valid = { journal: { kind: 'valid' as const, journal } };
    expect(decide(valid, config, flags, NOW)).toEqual({ kind: 'observe', need: 'changes' });
    expect(decide({ ...valid, changed: [] }, config, flags, NOW)).toEqual({ kind: 'observe', need: 'venvs' });
    const plan = decide({ ...valid, changed: [], venvs: observed.venvs }, config, flags, NOW);
    expect(plan).toMatchObject({ kind: 'recover', journal, steps: { journal } });
    if (plan.kind !== 'recover') throw new Error('not a recovery');
    expect(plan.steps.finish).toBeUndefined();
    expect(plan.steps.rollback.steps.map((s) => s.step)).toEqual(['reset', 'api', 'validator', 'health']);
    expect(plan.steps.rollback.steps[0]).toEqual({ step: 'reset', commit: A });
    const inHealth = decide({ journal: { kind: 'valid', journal: { ...journal, phase: 'health' } }, changed: [], venvs: observed.venvs }, config, flags, NOW);
    expect(inHealth).toMatchObject({ kind: 'recover', steps: { finish: { step: 'health', process: 'validator-h-finney' } } });
  });

  it('a swap plan names every step: venvs to prepare or reuse, the stop, the reset, setup, starts, health', () => {
    const dir = (kind: string, c: string) => `/home/op/.local/share/alphacore/venvs/${kind}-${c}`;
    const venvs = {
      sides: { [B]: { validator: { dir: dir('validator', 'b'), complete: false }, api: { dir: dir('api', 'b'), complete: true } }, [A]: { validator: { dir: dir('validator', 'a'), complete: true }, api: { dir: dir('api', 'a'), complete: true } } },
      fallback: { dir: '/srv/AlphaCore/venv' },
    };
    const plan = decide({ ...clean, ...remote, ...idle, venvs, changed: ['modules/requirements.txt', 'modules/evaluation/validation/sandbox/x'] }, config, flags, NOW);
    if (plan.kind !== 'swap') throw new Error(`not a swap: ${plan.kind}`);
    expect(plan.steps.venvs).toEqual([
      { step: 'venv', side: 'to', kind: 'validator', commit: B, dir: dir('validator', 'b'), action: 'prepare' },
      { step: 'venv', side: 'to', kind: 'api', commit: B, dir: dir('api', 'b'), action: 'reuse' },
      { step: 'venv', side: 'from', kind: 'validator', commit: A, dir: dir('validator', 'a'), action: 'reuse' },
      { step: 'venv', side: 'from', kind: 'api', commit: A, dir: dir('api', 'a'), action: 'reuse' },
    ]);
    expect(plan.steps.stop).toEqual({ step: 'stop', namespace: 'alphacore', processes: ['validator-h-finney', 'alphacore-validation-api'] });
    // A prepared validator venv was filled before the stop: no dependency refresh between stop and start.
    expect(plan.steps.forward.steps.map((s) => s.step)).toEqual(['reset', 'sandbox', 'api', 'validator', 'health']);
    expect(plan.steps.forward.steps).toContainEqual({ step: 'sandbox', argv: ['sudo', '-n', 'bash', '/srv/AlphaCore/modules/evaluation/validation/sandbox/setup.sh'], timeoutMs: 8 * 60_000 });
    expect(plan.steps.forward.steps).toContainEqual({ step: 'validator', process: 'validator-h-finney', namespace: 'alphacore', venvDir: dir('validator', 'b'), env: { PIP_NO_INDEX: '1' } });
    const api = plan.steps.forward.steps.find((s) => s.step === 'api');
    expect(api).toMatchObject({ argv: ['bash', '/srv/AlphaCore/scripts/validator/process/launch_validation_api.sh', '--pm2-namespace', 'alphacore', '--venv-dir', dir('api', 'b')], process: 'alphacore-validation-api', port: 8888, waitFor: 'http://127.0.0.1:8888/health' });
    // The health phase watches the API it started with the validator (HEALTH_STABLE for both, §5.6).
    expect(plan.steps.forward.steps.find((s) => s.step === 'health')).toMatchObject({ process: 'validator-h-finney', api: { process: 'alphacore-validation-api', port: 8888 } });
    expect(plan.steps.rollback.steps[0]).toEqual({ step: 'reset', commit: A });
    // Without prepared venvs (no requirements file) the configured venv's pip refreshes the dependencies.
    const bare = decide({ ...clean, ...remote, ...idle }, config, flags, NOW);
    if (bare.kind !== 'swap') throw new Error('not a swap');
    expect(bare.steps.venvs).toEqual([]);
    expect(bare.steps.forward.steps).toContainEqual({ step: 'deps', argv: ['/srv/AlphaCore/venv/bin/pip', 'install', '--disable-pip-version-check', '-r', '/srv/AlphaCore/modules/requirements.txt'], timeoutMs: 10 * 60_000 });
  });

  it('a failed rollback is retried by the next three runs, then after its backoff (4, 8 ... 30 min), or now with --force', () => {
    const failed = { ...journal, rollbackFailed: true, attempts: 1, nextRetryAt: new Date(NOW + 60_000).toISOString() };
    expect(decide({ journal: { kind: 'valid', journal: failed } }, config, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'failed', reason: 'rollback-failed' } });
    const seen = { changed: [], venvs: observed.venvs };
    expect(decide({ journal: { kind: 'valid', journal: failed }, ...seen }, config, { ...flags, force: true }, NOW)).toMatchObject({ kind: 'recover' });
    expect(decide({ journal: { kind: 'valid', journal: failed }, ...seen }, config, flags, NOW + 61_000)).toMatchObject({ kind: 'recover' });
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

import { describe, expect, it } from 'vitest';
import { decide } from '../../src/commands/update/decide.js';
import type { Facts } from '../../src/commands/update/observe.js';
import { judgeRestartBudget, recordRestartWait, type RestartFacts } from '../../src/commands/update/restart-budget.js';
import type { AutoupdateConfig } from '../../src/core/config.js';
import { restartSettings } from '../../src/core/restart-config.js';
import type { UpdateState } from '../../src/core/state.js';

const H = 3_600_000;
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const NOW = Date.parse('2026-01-02T00:00:00Z');
const settings = { policy: 'coalesce' as const, minIntervalMs: 24 * H, maxDelayMs: 24 * H };
const iso = (ms: number) => new Date(ms).toISOString();
const warm = (startedAgoMs: number): RestartFacts => ({
  explicit: false,
  versionHead: '1.0.0',
  versionTarget: '1.0.0',
  weights: { state: 'emitting', tasksDone: 12, tasksNeeded: 10, lastEmitEpoch: 500, lastEmitAt: iso(NOW - H), startedAt: iso(NOW - startedAgoMs), log: '/x.log' },
});

describe('the restart budget under RESTART_POLICY=coalesce (pure)', () => {
  it('a warm validator restarted less than RESTART_MIN_INTERVAL ago keeps running: deferred, naming the release and when it goes', () => {
    const v = judgeRestartBudget(warm(3 * H), settings, A, B, NOW);
    expect(v.decision).toMatchObject({ outcome: 'deferred', reason: 'restart-budget', until: iso(NOW + 21 * H), since: iso(NOW) });
    expect(v.decision!.detail).toContain(`bbbbbbb waits until ${iso(NOW + 21 * H).replace('.000Z', 'Z')}`);
    expect(v.decision!.detail).toMatch(/restarted 3h ago, less than RESTART_MIN_INTERVAL=1d/);
  });

  it('goes in each of the four cases: still warming up, __version__ changes, waited RESTART_MAX_DELAY, --to', () => {
    const warming: RestartFacts = { ...warm(3 * H), weights: { state: 'warming-up', tasksDone: 2, tasksNeeded: 10, startedAt: iso(NOW - 3 * H), log: '/x.log' } };
    expect(judgeRestartBudget(warming, settings, A, B, NOW)).toEqual({ note: expect.stringMatching(/still warming up \(2\/10 tasks\)/) });
    const bump = { ...warm(3 * H), versionTarget: '1.0.1' };
    expect(judgeRestartBudget(bump, settings, A, B, NOW)).toEqual({ note: expect.stringMatching(/changes __version__ 1\.0\.0 -> 1\.0\.1/) });
    const waited = { ...warm(3 * H), waiting: { head: A, since: iso(NOW - 24 * H), sha: B, until: iso(NOW), detail: '' } };
    expect(judgeRestartBudget(waited, settings, A, B, NOW)).toEqual({ note: expect.stringMatching(/waited 1d \(RESTART_MAX_DELAY=1d\)/) });
    expect(judgeRestartBudget({ ...warm(3 * H), explicit: true }, settings, A, B, NOW)).toEqual({ note: expect.stringMatching(/--to chose bbbbbbb/) });
  });

  it('goes when the last restart is RESTART_MIN_INTERVAL ago, or when it cannot tell the warm-up', () => {
    expect(judgeRestartBudget(warm(25 * H), settings, A, B, NOW).decision).toBeUndefined();
    const unknown: RestartFacts = { ...warm(3 * H), weights: { state: 'unknown', why: 'no validator log at /x.log', log: '/x.log' } };
    expect(judgeRestartBudget(unknown, settings, A, B, NOW)).toEqual({ note: expect.stringMatching(/cannot tell the weights warm-up \(no validator log/) });
  });

  it('the wait counts from the first release held on this HEAD; a wait of an older HEAD does not count', () => {
    const since = iso(NOW - 10 * H);
    const held = judgeRestartBudget({ ...warm(3 * H), waiting: { head: A, since, sha: 'c'.repeat(40), until: '', detail: '' } }, settings, A, B, NOW);
    expect(held.decision).toMatchObject({ since, until: iso(NOW + 14 * H) });
    const old = judgeRestartBudget({ ...warm(3 * H), waiting: { head: 'c'.repeat(40), since: iso(NOW - 30 * H), sha: B, until: '', detail: '' } }, settings, A, B, NOW);
    expect(old.decision).toMatchObject({ since: iso(NOW) });
  });

  it('decide: asked only under coalesce, after the gates; --force goes; prompt never asks', () => {
    const config = { restart: settings, given: {}, namespace: 'alphacore', validatorProcessName: 'validator', repoDir: '/r', remote: 'origin', branch: 'release', roundLockfile: '/tmp/r', validationApiEndpoint: 'http://x', validatorExtraArgs: [], validationApiExtraArgs: [], sandboxSetup: 'auto', depsRefresh: 'auto' } as unknown as AutoupdateConfig;
    const facts: Facts = {
      journal: { kind: 'none' },
      dirty: [],
      indexLock: { present: false, path: '/r/.git/index.lock', holders: [] },
      head: A,
      target: B,
      branch: 'release',
      localCommits: [],
      changed: [],
      gates: { roundLock: { kind: 'absent' }, api: { kind: 'idle' } },
      venvs: { sides: {}, fallback: { dir: '/r/venv' } },
      processes: { names: ['validator'] },
    };
    const flags = { force: false };
    expect(decide(facts, config, flags, NOW)).toEqual({ kind: 'observe', need: 'restart' });
    expect(decide({ ...facts, restart: warm(3 * H) }, config, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'deferred', reason: 'restart-budget' } });
    expect(decide({ ...facts, restart: warm(25 * H) }, config, flags, NOW)).toMatchObject({ kind: 'swap' });
    expect(decide(facts, config, { ...flags, force: true }, NOW)).toMatchObject({ kind: 'swap' });
    const live = { ...facts, gates: { roundLock: { kind: 'live' as const, detail: 'round 1' } } };
    expect(decide(live, config, flags, NOW)).toMatchObject({ decision: { reason: 'round-active' } });
    const prompt = { ...config, restart: { ...settings, policy: 'prompt' } } as AutoupdateConfig;
    expect(decide(facts, prompt, flags, NOW)).toMatchObject({ kind: 'swap' });
    // A journal (an interrupted update) is recovered whatever the budget says.
    const journal = { from: A, to: B, phase: 'api', startedAt: iso(NOW), pid: 1 };
    expect(decide({ ...facts, journal: { kind: 'valid', journal } }, config, flags, NOW)).toMatchObject({ kind: 'recover' });
  });

  it('the state keeps the wait and tells the webhook once per release; a deploy ends the wait', () => {
    const state: Pick<UpdateState, 'restartWait'> = {};
    const deferral = judgeRestartBudget(warm(3 * H), settings, A, B, NOW).decision!;
    expect(recordRestartWait(state, deferral, A, B)).toMatchObject({ outcome: 'deferred', reason: 'restart-budget', summary: expect.stringMatching(/release bbbbbbb held back/) });
    expect(state.restartWait).toMatchObject({ head: A, sha: B, since: iso(NOW), notified: B });
    expect(recordRestartWait(state, deferral, A, B)).toBeUndefined();
    const C = 'c'.repeat(40);
    const next = judgeRestartBudget({ ...warm(3 * H), waiting: state.restartWait }, settings, A, C, NOW + H).decision!;
    expect(next.since).toBe(iso(NOW));
    expect(recordRestartWait(state, next, A, C)).toMatchObject({ summary: expect.stringMatching(/ccccccc/) });
    recordRestartWait(state, { outcome: 'deferred', reason: 'round-active' }, A, C);
    expect(state.restartWait?.sha).toBe(C);
    recordRestartWait(state, { outcome: 'updated' }, A, C);
    expect(state.restartWait).toBeUndefined();
  });

  it('config: the keys are validated with messages naming the key; defaults prompt, 24h, 24h', () => {
    const problems: string[] = [];
    expect(restartSettings(() => undefined, (p) => problems.push(p))).toEqual({ policy: 'prompt', minIntervalMs: 24 * H, maxDelayMs: 24 * H });
    const bad = { RESTART_POLICY: 'lazy', RESTART_MIN_INTERVAL: 'soon', RESTART_MAX_DELAY: '0' } as Record<string, string>;
    restartSettings((k) => bad[k], (p) => problems.push(p));
    expect(problems).toEqual([
      expect.stringMatching(/^RESTART_POLICY=lazy must be prompt .* or coalesce/),
      expect.stringMatching(/^RESTART_MIN_INTERVAL=soon is not a time span/),
      expect.stringMatching(/^RESTART_MAX_DELAY=0 is not a time span/),
    ]);
  });
});

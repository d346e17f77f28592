#!/usr/bin/env node
// `npm run bench`, part 5 (DESIGN.md §14): what RESTART_POLICY costs in weights, on a
// simulated clock (no sleeping). A week of releases (3 a day at random hours, fixed
// seed, one of them a __version__ bump) meets the validator's warm-up model of
// neurons/validator.py with its defaults: one round per 72-minute epoch completes one
// task, weights only once 10 tasks are done since the start (the count is 0 at every
// start), burn-only weights after 4000 blocks (800 min) without any. The decision is the
// real code from dist/: every 2 minutes (the timer) the update's pure decide() gets the
// facts, including the round gate and, under coalesce, the warm-up read by the real
// parser from the real log lines (with PM2's date prefix) the model writes; a deferral
// is recorded by the real record step (state.restartWait). Runs alone too:
// `node scripts/bench-warmup.mjs` (after `npm run build`). Prints figures, asserts nothing.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const load = (rel) => import(pathToFileURL(path.join(ROOT, 'dist', rel)).href);

const MIN = 60_000;
const H = 60 * MIN;
const EPOCH_MIN = 72;
const ROUND = { start: 10, end: 50 }; // minutes into each epoch while the round lock is live
const TASKS_NEEDED = 10;
const BURN_AFTER_MIN = (4000 * 12) / 60;
const DAYS = 7;
const T0 = Date.parse('2026-12-07T00:00:00Z');
const TAIL_LINES = 2000; // a bounded tail, like the 256 KiB the updater reads

/** mulberry32: a small seeded PRNG, so that every run simulates the same week. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 3 releases a day at random minutes, one (the middle one) bumping __version__. */
export function releaseStream(seed = 7) {
  const rand = prng(seed);
  const out = [];
  for (let d = 0; d < DAYS; d += 1) {
    const minutes = [0, 1, 2].map(() => Math.floor(rand() * 24 * 60)).sort((a, b) => a - b);
    for (const m of minutes) out.push({ at: d * 24 * 60 + m });
  }
  out.sort((a, b) => a.at - b.at);
  const bump = Math.floor(out.length / 2);
  return out.map((r, i) => ({ ...r, sha: (i + 1).toString(16).padStart(40, '0'), version: i >= bump ? '1.0.1' : '1.0.0', bump: i === bump }));
}

const stamp = (minute) => `${new Date(T0 + minute * MIN).toISOString().replace('T', ' ').slice(0, 19)} +00:00: `;

/** One policy over the week: the validator model and the timer, minute by minute. */
export async function simulate(policy, releases, spans = { minIntervalMs: 24 * H, maxDelayMs: 24 * H }) {
  const { decide } = await load('commands/update/decide.js');
  const { recordRestartWait } = await load('commands/update/restart-budget.js');
  const { judgeWarmup, parseWarmupLog } = await load('domain/warmup.js');
  const config = {
    file: '/bench/alphacore.env',
    given: {},
    namespace: 'alphacore',
    validatorProcessName: 'validator',
    repoDir: '/srv/AlphaCore',
    remote: 'origin',
    branch: 'release',
    roundLockfile: '/tmp/round.lock',
    validationApiEndpoint: 'http://127.0.0.1:8888',
    validatorExtraArgs: [],
    validationApiExtraArgs: [],
    sandboxSetup: 'auto',
    depsRefresh: 'auto',
    restart: { policy, ...spans },
  };
  const versions = new Map([['0'.repeat(40), '1.0.0'], ...releases.map((r) => [r.sha, r.version])]);
  const log = [];
  const write = (minute, text) => {
    log.push(`${stamp(minute)}${text}`);
    if (log.length > TAIL_LINES) log.splice(0, log.length - TAIL_LINES);
  };
  const v = { startedAt: 0, tasks: 0, lastEmitEpoch: -1, lastWeightsAt: -Infinity };
  const start = (minute) => {
    Object.assign(v, { startedAt: minute, tasks: 0, lastEmitEpoch: -1 });
    write(minute, `[WEIGHTS] Emitter started (offset=0, min_tasks=${TASKS_NEEDED}, poll=12.0s)`);
  };
  const state = {};
  let head = '0'.repeat(40);
  let restarts = 0;
  const realEpochs = new Set();
  let burnEpochs = 0;
  const bump = releases.find((r) => r.bump);
  let bumpDeployedAt;
  const end = DAYS * 24 * 60;
  start(0);
  for (let m = 0; m < end; m += 1) {
    const epoch = Math.floor(m / EPOCH_MIN);
    const pos = m % EPOCH_MIN;
    const emit = () => {
      if (v.tasks >= TASKS_NEEDED && v.lastEmitEpoch !== epoch) {
        v.lastEmitEpoch = epoch;
        v.lastWeightsAt = m;
        realEpochs.add(epoch);
        write(m, `✅ [WEIGHTS] Emitted weights on chain (epoch=${epoch}, block_in_epoch=${Math.floor((pos * 60) / 12)})`);
      }
    };
    if (pos === 0) {
      write(m, `[WEIGHTS] Epoch check: epoch=${epoch} block_in_epoch=0 offset=0 tasks=${v.tasks}/${TASKS_NEEDED}`);
      emit();
      if (v.lastEmitEpoch !== epoch && m - v.lastWeightsAt >= BURN_AFTER_MIN) {
        v.lastEmitEpoch = epoch;
        v.lastWeightsAt = m;
        burnEpochs += 1;
      }
    }
    // A round runs only in a validator that was up at its start; its end completes a task.
    const roundStart = epoch * EPOCH_MIN + ROUND.start;
    const inRound = pos >= ROUND.start && pos < ROUND.end && v.startedAt <= roundStart;
    if (pos === ROUND.end && v.startedAt <= roundStart) {
      v.tasks += 1;
      emit();
    }
    if (m % 2 !== 0) continue;
    const landed = releases.filter((r) => r.at <= m).at(-1);
    const target = landed?.sha ?? head;
    const facts = {
      journal: { kind: 'none' },
      dirty: [],
      indexLock: { present: false, path: '/srv/AlphaCore/.git/index.lock', holders: [] },
      head,
      target,
      branch: 'release',
      localCommits: [],
      changed: [],
      venvs: { sides: {}, fallback: { dir: '/srv/AlphaCore/venv' } },
      processes: { names: ['validator'] },
      quarantine: [],
      gates: { roundLock: inRound ? { kind: 'live', detail: `round of epoch ${epoch}` } : { kind: 'absent' }, api: { kind: 'idle' } },
    };
    const nowMs = T0 + m * MIN;
    let plan = decide(facts, config, { force: false }, nowMs);
    if (plan.kind === 'observe' && plan.need === 'restart') {
      const weights = judgeWarmup(parseWarmupLog(log.join('\n')), { log: '/srv/AlphaCore/logs/pm2/validator.out.log' });
      facts.restart = { explicit: false, weights, versionHead: versions.get(head), versionTarget: versions.get(target), ...(state.restartWait ? { waiting: state.restartWait } : {}) };
      plan = decide(facts, config, { force: false }, nowMs);
    }
    if (plan.kind === 'observe') throw new Error(`the simulation did not provide ${plan.need}`);
    const from = head;
    if (plan.kind === 'swap') {
      head = plan.to;
      restarts += 1;
      if (bump && !bumpDeployedAt && versions.get(head) === bump.version) bumpDeployedAt = m;
      start(m);
      recordRestartWait(state, { outcome: 'updated' }, from, plan.to);
    } else recordRestartWait(state, plan.decision, from, target);
  }
  // The first round gap at or after the bump landed, on the timer's 2-minute grid.
  let gap = bump.at + (bump.at % 2);
  for (;;) {
    const pos = gap % EPOCH_MIN;
    if (!(pos >= ROUND.start && pos < ROUND.end)) break;
    gap += 2;
  }
  const epochs = Math.floor(end / EPOCH_MIN);
  return { policy, restarts, real: realEpochs.size, epochs, share: realEpochs.size / epochs, burnEpochs, bumpDelayMin: bumpDeployedAt - bump.at, firstGapDelayMin: gap - bump.at };
}

export async function benchWarmup() {
  const releases = releaseStream();
  const started = process.hrtime.bigint();
  const results = [];
  for (const policy of ['prompt', 'coalesce']) results.push(await simulate(policy, releases));
  // The same stream with both spans at 48h: what an operator buys by waiting longer.
  results.push({ ...(await simulate('coalesce', releases, { minIntervalMs: 48 * H, maxDelayMs: 48 * H })), policy: 'coalesce 48h' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`\n5. restart policy vs the weights warm-up: a simulated week (${releases.length} releases, 3 a day at random hours, seed 7; release ${releases.findIndex((r) => r.bump) + 1} bumps __version__)`);
  console.log(`   model: ${TASKS_NEEDED} tasks needed, one per ${EPOCH_MIN}-min epoch, burn-only after 4000 blocks; the timer every 2 min; real decide() and warm-up parser from dist/ (${ms.toFixed(0)} ms wall)`);
  const row = (label, f) => console.log(`   ${label.padEnd(38)}${results.map((r) => String(f(r)).padStart(14)).join('')}`);
  row('', (r) => r.policy);
  row('RESTART_MIN_INTERVAL, RESTART_MAX_DELAY', (r) => (r.policy === 'prompt' ? '-' : r.policy.endsWith('48h') ? '48h' : '24h'));
  row('restarts', (r) => r.restarts);
  row('epochs with real weights', (r) => `${r.real}/${r.epochs}`);
  row('share of epochs with real weights', (r) => `${(r.share * 100).toFixed(1)} %`);
  row('epochs with burn-only weights', (r) => r.burnEpochs);
  row('delay of the __version__ bump', (r) => `${r.bumpDelayMin} min`);
  const [prompt, coalesce] = results;
  const ratio = prompt.share > 0 ? coalesce.share / prompt.share : Infinity;
  console.log(`   => coalesce/prompt share of epochs with real weights: ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'inf'}x (target >= 2x: ${ratio >= 2 ? 'met' : 'NOT met'})`);
  // One week is one draw: the same comparison over other seeds says how much is the draw.
  const seeds = Number(process.env.BENCH_WARMUP_SEEDS ?? 20);
  if (seeds > 0) {
    const ratios = [];
    for (let seed = 1; seed <= seeds; seed += 1) {
      const stream = releaseStream(seed);
      const [p, c] = [await simulate('prompt', stream), await simulate('coalesce', stream)];
      ratios.push(p.share > 0 ? c.share / p.share : Infinity);
    }
    ratios.sort((a, b) => a - b);
    const met = ratios.filter((r) => r >= 2).length;
    console.log(`   => over seeds 1-${seeds}: coalesce/prompt median ${ratios[Math.floor(seeds / 2)].toFixed(2)}x, min ${ratios[0].toFixed(2)}x, max ${ratios.at(-1).toFixed(2)}x; >= 2x in ${met} of ${seeds} weeks (BENCH_WARMUP_SEEDS)`);
  }
  console.log(`   => with both spans at 48h: ${(results[2].share / prompt.share).toFixed(2)}x prompt's share`);
  console.log(`   => version bump: deployed ${coalesce.bumpDelayMin} min after it landed under coalesce; the first round gap was ${coalesce.firstGapDelayMin} min after (${coalesce.bumpDelayMin === coalesce.firstGapDelayMin ? 'met' : 'NOT met'})`);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchWarmup();

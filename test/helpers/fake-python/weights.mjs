// The weights emitter of neurons/validator.py, as far as the toolkit reads it (DESIGN.md
// §14): the task count starts at 0, one task completes per round (one round per epoch),
// and weights are set once per epoch when the count has reached the minimum. The lines
// are the real ones (test/contract/warmup-lines.test.ts checks them against the source),
// behind bittensor's logger prefix; PM2 adds its date.
//   ALPHACORE_WEIGHTS_MIN_TASKS_BEFORE_EMIT (or --validator.weights_min_tasks_before_emit): M, default 10
//   ALPHACORE_FAKE_EPOCH_MS (or "epochMs" in the test settings): the epoch, default 72 min
//     (tempo 360 blocks of 12 s); epochs are wall-clock aligned, as the chain's are.
//   "completeTasks": false in the test settings: rounds complete no task (read live).
import { settings } from './common.mjs';

const TEMPO = 360;

function bittensorLine(text) {
  const now = new Date();
  const stamp = now.toISOString().replace('T', ' ').slice(0, 23);
  return `${stamp} |       INFO       | bittensor:validator.py:773 | ${text}`;
}

function minTasks(args) {
  const i = args.indexOf('--validator.weights_min_tasks_before_emit');
  const raw = i >= 0 ? args[i + 1] : process.env.ALPHACORE_WEIGHTS_MIN_TASKS_BEFORE_EMIT;
  const n = Number.parseInt(raw ?? '10', 10);
  return Number.isFinite(n) ? Math.max(0, n) : 10;
}

function epochMs() {
  const fromEnv = Number(process.env.ALPHACORE_FAKE_EPOCH_MS);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  const fromSettings = Number(settings().epochMs);
  return Number.isFinite(fromSettings) && fromSettings > 0 ? fromSettings : 72 * 60 * 1000;
}

export function startWeightsEmitter(args) {
  const min = minTasks(args);
  const epoch = epochMs();
  const poll = Math.max(10, Math.floor(epoch / 8));
  let tasks = 0;
  let lastLogged;
  let lastEmitted;
  const at = () => {
    const blockMs = epoch / TEMPO;
    const block = Math.floor(Date.now() / blockMs);
    return { epoch: Math.floor(block / TEMPO), blockInEpoch: block % TEMPO };
  };
  console.log(bittensorLine(`[WEIGHTS] Emitter started (offset=0, min_tasks=${min}, poll=${(poll / 1000).toFixed(1)}s)`));
  const check = () => {
    const now = at();
    if (lastLogged !== now.epoch) {
      console.log(bittensorLine(`[WEIGHTS] Epoch check: epoch=${now.epoch} block_in_epoch=${now.blockInEpoch} offset=0 tasks=${tasks}/${min}`));
      lastLogged = now.epoch;
    }
    if (tasks < min || lastEmitted === now.epoch) return;
    console.log(bittensorLine(`[WEIGHTS] Check: block=${now.epoch * TEMPO + now.blockInEpoch} epoch=${now.epoch} block_in_epoch=${now.blockInEpoch} offset=0 action=emitted`));
    lastEmitted = now.epoch;
    console.log(bittensorLine(`✅ [WEIGHTS] Emitted weights on chain (epoch=${now.epoch}, block_in_epoch=${now.blockInEpoch})`));
  };
  check();
  setInterval(check, poll);
  // One round per epoch, the first half an epoch after the start; none while the test
  // holds tasks back ("completeTasks": false), to keep a validator warming up.
  const round = () => {
    if (settings().completeTasks !== false) tasks += 1;
  };
  setTimeout(() => {
    round();
    setInterval(round, epoch);
  }, epoch / 2);
}

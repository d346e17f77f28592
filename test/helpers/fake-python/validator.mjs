// The fake validator: what neurons/validator.py (and scripts/start_validator.py, which
// adds the task-generation API on ALPHACORE_HTTP_PORT) do that the toolkit depends on.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envFlag, missingImport, record, relevantEnv, settings, sleep, version } from './common.mjs';
import { startWeightsEmitter } from './weights.mjs';

const expand = (p) => (p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p);

/** neurons/validator.py _require_validation_api_healthy: GET <endpoint>/health, status ok|healthy, token ready. */
async function requireApiHealthy() {
  const endpoint = (process.env.ALPHACORE_VALIDATION_API_ENDPOINT ?? 'http://127.0.0.1:8888').trim().replace(/\/+$/, '');
  if (!endpoint) throw new Error('ALPHACORE_VALIDATION_API_ENDPOINT is empty');
  const url = `${endpoint}/health`;
  const timeout = Number(process.env.ALPHACORE_VALIDATION_API_STARTUP_TIMEOUT_S ?? '2') * 1000;
  let data;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeout) });
    if (!res.ok) throw new Error(`HTTP Error ${res.status}`);
    data = await res.json();
  } catch (error) {
    throw new Error(`Health check failed for ${url}: ${error.message}`);
  }
  if (!['ok', 'healthy'].includes(String(data.status ?? '').trim().toLowerCase())) throw new Error(`Validation API unhealthy: status=${data.status}`);
  if (envFlag('ALPHACORE_VALIDATION_REQUIRE_TOKEN', true) && !data.token_ready) throw new Error(`Validation API token not ready: ${data.token_error}`);
}

export async function runValidator({ entry, args, taskApi }) {
  const s = settings();
  record('validator-starts.jsonl', { entry, argv: args, cwd: process.cwd(), env: relevantEnv(), version: version(), mode: s.validator ?? 'ok' });
  console.log(`fake validator (${entry}) starting, version ${version()}`);
  if (s.startDelaySeconds > 0) await sleep(s.startDelaySeconds * 1000);
  // The imports come first (a missing requirement ends it before anything else)...
  const missing = missingImport();
  if (missing) {
    console.error(`Traceback (most recent call last):\nModuleNotFoundError: No module named '${missing.replace(/-/g, '_')}' (fake python: not installed in ${process.env.VIRTUAL_ENV})`);
    process.exit(1);
  }
  // A crash and the Validation API check come before the task-generation API here. In
  // scripts/start_validator.py main() that side process starts first and the Validator
  // (whose __init__ checks the API) only after time.sleep(2), so a real validator that
  // fails there is `online` for 2 s or more: the tests' HEALTH_STABLE of 2 s would miss it.
  if (s.validator === 'crash') {
    console.error('fake validator: crashing as told (.fake-python.json or the test settings)');
    process.exit(1);
  }
  // config.py: enabled unless ALPHACORE_VALIDATION_API_ENABLED says otherwise (TESTING aside).
  const apiEnabled = ['1', 'true', 'yes', 'on'].includes((process.env.ALPHACORE_VALIDATION_API_ENABLED ?? 'true').toLowerCase());
  if (apiEnabled && envFlag('ALPHACORE_FAIL_FAST_ON_VALIDATION_API', true)) {
    try {
      await requireApiHealthy();
    } catch (error) {
      console.error(`[startup] Validation API not ready: ${error.message}`);
      process.exit(1);
    }
  }
  if (taskApi) await startTaskApi();
  const lockfile = path.resolve(expand(process.env.ALPHACORE_ROUND_LOCKFILE || '/tmp/alphacore-validator-round.lock'));
  // "A validator restart is, by definition, not mid-round": a leftover lock goes.
  try {
    if (fs.existsSync(lockfile)) {
      fs.unlinkSync(lockfile);
      record('rounds.jsonl', { event: 'removed-leftover', lockfile });
    }
  } catch {
    // as the real one: ignored
  }
  let holding = false;
  const releaseLock = () => {
    if (!holding) return;
    try {
      fs.unlinkSync(lockfile);
    } catch {
      // already gone
    }
    holding = false;
    record('rounds.jsonl', { event: 'end', lockfile });
  };
  const tick = () => {
    const hold = settings().holdRound;
    if (hold && !holding) {
      const info = typeof hold === 'object' ? hold : {};
      fs.mkdirSync(path.dirname(lockfile), { recursive: true });
      const payload = { round_id: String(info.round_id ?? `round-${Date.now()}`), block: Number(info.block ?? 100), ts: Math.floor(Date.now() / 1000), pid: process.pid };
      fs.writeFileSync(lockfile, `${JSON.stringify(payload)}\n`);
      holding = true;
      record('rounds.jsonl', { event: 'start', lockfile, ...payload });
    } else if (!hold) releaseLock();
  };
  // Ctrl-C (PM2's default stop signal) is KeyboardInterrupt: the round's finally removes the lock.
  process.on('SIGINT', () => {
    releaseLock();
    process.exit(0);
  });
  tick();
  setInterval(tick, 200);
  record('validator-ready.jsonl', { entry, lockfile });
  console.log(`fake validator ready (round lockfile ${lockfile})`);
  startWeightsEmitter(args);
}

/** The side process (daemon=True: ended when the validator exits), then time.sleep(2) as there. */
async function startTaskApi() {
  const child = spawn(process.execPath, [path.join(path.dirname(new URL(import.meta.url).pathname), 'taskgen.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.on('exit', () => child.kill('SIGTERM'));
  // Ctrl-C meanwhile: main()'s KeyboardInterrupt handler ends the child and exits 0.
  const early = () => process.exit(0);
  process.on('SIGINT', early);
  await sleep(2000);
  process.off('SIGINT', early);
}

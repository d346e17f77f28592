#!/usr/bin/env node
// `npm run soak`: N update cycles (SOAK_CYCLES, default 200) on the REAL AlphaCore
// repository (the bundle, as the contract tests use it) with only Python faked
// (test/helpers/fake-python) under a real, isolated PM2, as the throwaway user
// alphacore-ci when run as root. Each cycle pushes a release (a share of them crash,
// SOAK_CRASH_SHARE, default 0.3), then runs one update with one fault injected at a
// random moment:
//   kill-updater     kill -9 of the update run
//   kill-daemon      kill -9 of the PM2 daemon
//   pm2-kill         `pm2 kill`
//   sigstop-api      SIGSTOP of the Validation API (SIGCONT after the run)
//   full-disk        the deploy clone sits on a small tmpfs; it is filled during the swap
//                    or the rollback and freed a few seconds later (root only: needs mount)
//   origin-down      the origin is unreachable for the run
//   port-stranger    another process answers on the API's port while the API restarts
//   cron-env         the run under cron's bare environment (env -i HOME LOGNAME SHELL PATH)
// After the cycle, and after at most one more normal run: both services online at a
// known good commit, HEAD = the state's deployed commit, no quarantined release running,
// no good release quarantined, no orphan of the namespace, status truthful. Prints
// cycles survived / cycles run, the failures by fault, and the longest validator
// downtime sampled every 250 ms. Figures only; it stops by itself (bounded cycles, each
// run with a timeout); only loopback traffic.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alphacoreSource } from './alphacore-source.mjs';
import { installRuntime } from '../test/helpers/fake-python/install.mjs';
import { freePort, throwawayUser } from './throwaway.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'alphacore.js');
const PM2_BIN = path.join(ROOT, 'node_modules', '.bin', 'pm2');
const CYCLES = Number(process.env.SOAK_CYCLES ?? 200);
const CRASH_SHARE = Number(process.env.SOAK_CRASH_SHARE ?? 0.3);
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 100000);
const ALL_FAULTS = ['kill-updater', 'kill-daemon', 'pm2-kill', 'sigstop-api', 'full-disk', 'origin-down', 'port-stranger', 'cron-env'];
const FAULTS = (process.env.SOAK_FAULTS ?? ALL_FAULTS.join(',')).split(',').map((f) => f.trim()).filter(Boolean);
for (const f of FAULTS) if (!ALL_FAULTS.includes(f)) throw new Error(`SOAK_FAULTS: unknown fault ${f} (${ALL_FAULTS.join(', ')})`);
const RUN_MS = 240_000;
const VALIDATOR = 'validator-hot-test';
const API = 'alphacore-validation-api';

// A small seeded PRNG (mulberry32): a failing sequence can be replayed with SOAK_SEED.
let seed = SEED >>> 0;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Alive and not a zombie. */
function running(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
const signal = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
};

const src = alphacoreSource();
const as = throwawayUser();
if (!src) {
  console.log('soak: skipped: no AlphaCore bundle or ALPHACORE_REPO');
  process.exit(0);
}
if (as === null) {
  console.log('soak: skipped: running as root and no alphacore-ci user to run update as (the test suite creates it)');
  process.exit(0);
}

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-soak-')));
fs.chmodSync(tmp, 0o755);
const home = path.join(tmp, 'home');
const pm2Home = path.join(home, '.pm2');
const pyDir = path.join(tmp, 'python');
const control = path.join(pyDir, 'control');
const deployFs = path.join(tmp, 'deployfs');
let mounted = false;
let diskSkip;
const cleanups = [];

async function main() {
  const { namespaceProcesses } = await import(path.join(ROOT, 'dist', 'adapters', 'pm2-orphans.js'));
  installRuntime(pyDir);

  // The deploy clone on its own small tmpfs, so that a full disk can be made (root only).
  fs.mkdirSync(deployFs);
  if (as && FAULTS.includes('full-disk')) {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', deployFs], { encoding: 'utf8' });
    if (r.status === 0) {
      mounted = true;
      cleanups.push(() => spawnSync('umount', ['-l', deployFs]));
    } else diskSkip = `mount -t tmpfs failed (${(r.stderr || r.error?.message || '').trim()})`;
  } else if (FAULTS.includes('full-disk')) diskSkip = 'not root: cannot mount a small tmpfs';
  if (diskSkip) console.log(`soak: fault full-disk skipped: ${diskSkip}`);
  const faults = FAULTS.filter((f) => f !== 'full-disk' || mounted);

  // Origin (release = main's first parent), an author clone, the deploy clone.
  const gitConfig = path.join(tmp, 'gitconfig');
  fs.writeFileSync(gitConfig, '[safe]\n\tdirectory = *\n');
  const gitEnv = { PATH: process.env.PATH, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: gitConfig, LANG: 'C' };
  const git = (cwd, ...args) => execFileSync('git', ['-c', 'user.name=Soak', '-c', 'user.email=s@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, env: gitEnv, encoding: 'utf8', stdio: 'pipe' }).trim();
  const origin = path.join(tmp, 'origin.git');
  git(tmp, 'clone', '--quiet', '--bare', src, origin);
  git(origin, 'branch', '--force', 'release', 'main~1');
  const author = path.join(tmp, 'author');
  git(tmp, 'clone', '--quiet', '--branch', 'release', origin, author);
  const deploy = path.join(deployFs, 'AlphaCore');
  git(tmp, 'clone', '--quiet', '--branch', 'release', origin, deploy);
  let version = 0;
  const push = (crash) => {
    version += 1;
    fs.writeFileSync(path.join(author, 'VERSION'), `0.0.${version}-soak\n`);
    const settings = path.join(author, '.fake-python.json');
    if (crash) fs.writeFileSync(settings, `${JSON.stringify({ validator: 'crash' })}\n`);
    else fs.rmSync(settings, { force: true });
    git(author, 'add', '-A');
    git(author, 'commit', '--quiet', '-m', `soak release ${version}${crash ? ' (crashes)' : ''}`);
    git(author, 'push', '--quiet', 'origin', 'HEAD:release');
    return git(author, 'rev-parse', 'HEAD');
  };

  const [apiPort, httpPort] = [await freePort(), await freePort()];
  const creds = path.join(tmp, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'soak@proj.iam.gserviceaccount.com' }));
  fs.mkdirSync(home, { recursive: true });
  const PATH = `${path.join(pyDir, 'bin')}:${path.join(ROOT, 'node_modules', '.bin')}:${path.dirname(process.execPath)}:${process.env.PATH}`;
  const env = {
    PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    PM2_HOME: pm2Home,
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    ...(as ? { USER: as.name, LOGNAME: as.name } : {}),
  };
  const owner = as ? { uid: as.uid, gid: as.gid } : {};
  // Launch refuses a wallet or hotkey it cannot find: btcli's layout, placeholder keys
  // (as test/helpers/wallet.ts; nothing reads a key).
  const wallet = path.join(home, '.bittensor', 'wallets', 'cold');
  fs.mkdirSync(path.join(wallet, 'hotkeys'), { recursive: true });
  fs.writeFileSync(path.join(wallet, 'coldkeypub.txt'), '{"ss58Address": "test"}\n');
  fs.writeFileSync(path.join(wallet, 'hotkeys', 'hot'), '{"ss58Address": "test"}\n', { mode: 0o600 });
  if (as) execFileSync('chown', ['-R', `${as.uid}:${as.gid}`, tmp]);
  const sh = (file, args, opts = {}) => {
    const r = spawnSync(file, args, { env: opts.env ?? env, cwd: opts.cwd ?? deploy, encoding: 'utf8', timeout: 300_000, ...owner });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const daemonPid = () => {
    try {
      const pid = Number(fs.readFileSync(path.join(pm2Home, 'pm2.pid'), 'utf8').trim());
      return pid > 0 && running(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  // `pm2 jlist` spawns a daemon when none runs: asked only while one does.
  const jlist = () => (daemonPid() ? JSON.parse(sh(PM2_BIN, ['jlist'], { cwd: home }).stdout.split('\n').filter((l) => l.startsWith('[')).at(-1) ?? '[]') : []);
  const services = () =>
    Object.fromEntries(
      jlist()
        .filter((p) => p.pm2_env.namespace === 'alphacore')
        .map((p) => [p.name, p.pm2_env.status]),
    );
  cleanups.unshift(() => {
    // Everything of this soak's PM2 home, by pid: the daemon and the namespace's processes (orphans too).
    const pids = [daemonPid(), ...namespaceProcesses(pm2Home, 'alphacore').map((p) => p.pid)].filter(Boolean);
    for (const pid of pids) signal(pid, 'SIGCONT');
    for (const pid of pids) signal(pid, 'SIGKILL');
  });

  sh(PM2_BIN, ['ping'], { cwd: home });
  sh('/bin/bash', [path.join(deploy, 'scripts/validator/process/launch_validation_api.sh'), '--gcp-creds-file', creds, '--port', String(apiPort), '--pm2-namespace', 'alphacore']);
  sh(process.execPath, [CLI, 'launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds, '--validation-api-endpoint', `http://127.0.0.1:${apiPort}`, '--http-port', String(httpPort), '--disable-llm', '--no-autoupdate']);
  const config = path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', 'alphacore.env');
  fs.appendFileSync(config, `VALIDATION_HTTP_PORT=${apiPort}\nHEALTH_STABLE=2s\nHEALTH_TIMEOUT=30s\n`);
  const stateFile = path.join(env.XDG_STATE_HOME, 'alphacore', 'autoupdate', 'alphacore.state.json');
  const readState = () => {
    try {
      return JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    } catch {
      return undefined;
    }
  };

  /** One update run, spawned (the sampler and the fault run meanwhile); resolves with its result line. */
  const startUpdate = (runEnv = env) => {
    const child = spawn(process.execPath, [CLI, 'update', '--config', config, '--json'], { env: runEnv, cwd: home, stdio: ['ignore', 'pipe', 'pipe'], ...owner });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => signal(child.pid, 'SIGKILL'), RUN_MS);
    const done = new Promise((resolve) =>
      child.on('exit', (code, sig) => {
        clearTimeout(timer);
        const last = out.trim().split('\n').at(-1) ?? '';
        let result;
        try {
          result = JSON.parse(last);
        } catch {
          result = undefined;
        }
        resolve({ code, sig, out, result: result?.event === 'result' ? result : undefined });
      }),
    );
    return { child, done };
  };
  /** A normal run; a `locked` answer (a killed run's child still holds the lock) is waited out. */
  const normalRun = async () => {
    for (let i = 0; i < 15; i += 1) {
      const r = await startUpdate().done;
      if (r.result?.outcome !== 'locked') return r;
      await sleep(2000);
    }
    return startUpdate().done;
  };

  // Validator downtime, sampled every 250 ms: up when PM2's pid file names a running,
  // not stopped, validator process.
  const validatorUp = () => {
    let files = [];
    try {
      files = fs.readdirSync(path.join(pm2Home, 'pids')).filter((f) => f.startsWith(`${VALIDATOR}-`));
    } catch {
      return false;
    }
    return files.some((f) => {
      try {
        const pid = Number(fs.readFileSync(path.join(pm2Home, 'pids', f), 'utf8').trim());
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/[ZTt]/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
      } catch {
        return false;
      }
    });
  };
  let downSince;
  let longestDown = { ms: 0, cycle: 0, fault: '' };
  let cycleNow = 0;
  let faultNow = '';
  const sampler = setInterval(() => {
    const t = Date.now();
    if (validatorUp()) {
      if (downSince !== undefined && t - downSince > longestDown.ms) longestDown = { ms: t - downSince, cycle: cycleNow, fault: faultNow };
      downSince = undefined;
    } else downSince ??= t;
  }, 250);
  cleanups.unshift(() => clearInterval(sampler));

  const first = await normalRun();
  if (first.result?.outcome !== 'up-to-date') throw new Error(`soak: the first run was not up-to-date:\n${first.out}`);
  const good = new Set([git(deploy, 'rev-parse', 'HEAD')]);
  const bad = new Set();

  /** Waits until `probe` holds (polled every 50 ms), or the run ends. */
  const whenOrDone = async (probe, done) => {
    let ended = false;
    done.then(() => (ended = true));
    while (!ended) {
      if (probe()) return true;
      await sleep(50);
    }
    return false;
  };
  const inSwap = () => Boolean(readState()?.journal);
  const inRollback = () => Boolean(readState()?.journal?.rollingBack);

  /** Injects `fault` into one update run; returns what to undo after it. */
  const faulted = async (fault) => {
    const undo = [];
    let run;
    if (fault === 'cron-env') {
      // PM2_HOME and the XDG dirs are the defaults under HOME: nothing else is needed.
      run = startUpdate({ HOME: home, LOGNAME: as?.name ?? os.userInfo().username, SHELL: '/bin/sh', PATH });
      return { r: await run.done, undo };
    }
    if (fault === 'origin-down') {
      fs.renameSync(origin, `${origin}.away`);
      undo.push(() => fs.renameSync(`${origin}.away`, origin));
    }
    run = startUpdate();
    const delay = random() * 8000;
    if (fault === 'kill-updater') {
      await Promise.race([sleep(delay), run.done]);
      signal(run.child.pid, 'SIGKILL');
    } else if (fault === 'kill-daemon') {
      await Promise.race([sleep(delay), run.done]);
      const pid = daemonPid();
      if (pid) signal(pid, 'SIGKILL');
    } else if (fault === 'pm2-kill') {
      await Promise.race([sleep(delay), run.done]);
      if (daemonPid()) sh(PM2_BIN, ['kill'], { cwd: home, allowFail: true });
    } else if (fault === 'sigstop-api') {
      await Promise.race([sleep(delay), run.done]);
      const api = jlist().find((p) => p.name === API && p.pid > 0);
      if (api) {
        signal(api.pid, 'SIGSTOP');
        undo.push(() => signal(api.pid, 'SIGCONT'));
      }
    } else if (fault === 'full-disk') {
      const during = random() < 0.5 ? inSwap : inRollback;
      if (await whenOrDone(during, run.done)) {
        const filler = path.join(deployFs, 'filler');
        spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=100'], { stdio: 'ignore' });
        const free = () => fs.rmSync(filler, { force: true });
        // Freed a few seconds later (a log rotated, a download removed), or at the end of the run.
        setTimeout(free, 2000 + random() * 6000);
        undo.push(free);
      }
    } else if (fault === 'port-stranger') {
      if (await whenOrDone(inSwap, run.done)) {
        const stranger = spawn(process.execPath, ['-e', `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(q.url.startsWith('/validate/active') ? '{"active":[]}' : '{"status":"ok"}'); }).listen(${apiPort}, '127.0.0.1')`], { stdio: 'ignore', uid: 65534, gid: 65534 });
        undo.push(() => signal(stranger.pid, 'SIGKILL'));
      }
    }
    return { r: await run.done, undo };
  };

  const head = () => git(deploy, 'rev-parse', 'HEAD');
  const reportedQ = new Set();
  /** The invariants after a cycle; returns what does not hold (empty: converged). */
  const check = () => {
    const problems = [];
    const h = head();
    const st = readState() ?? {};
    const s = services();
    if (s[API] !== 'online' || s[VALIDATOR] !== 'online') problems.push(`services ${JSON.stringify(s)}`);
    if (!good.has(h)) problems.push(`HEAD ${h.slice(0, 7)} is ${bad.has(h) ? 'a crashing release' : 'unknown'}`);
    if (st.metrics?.deployed !== h) problems.push(`state's deployed ${String(st.metrics?.deployed).slice(0, 7)} != HEAD ${h.slice(0, 7)}`);
    if (st.journal) problems.push(`journal left (${st.journal.phase}${st.journal.rollbackFailed ? ', rollback failed' : ''})`);
    const quarantined = (st.quarantine ?? []).map((q) => q.sha);
    if (quarantined.includes(h)) problems.push('a quarantined release runs');
    // Each good release quarantined is counted against the cycle that quarantined it, once.
    const goodQ = (st.quarantine ?? []).filter((q) => good.has(q.sha) && !reportedQ.has(q.sha));
    if (goodQ.length) problems.push(`good release(s) quarantined: ${goodQ.map((q) => `${q.sha.slice(0, 7)} (${q.reason})`).join(', ')}`);
    const dp = daemonPid();
    const orphans = namespaceProcesses(pm2Home, 'alphacore').filter((p) => !dp || !descends(p.pid, dp));
    if (orphans.length) problems.push(`orphans: ${orphans.map((o) => `${o.name} ${o.pid}`).join(', ')}`);
    // status, as the operator reads it, says the same.
    const status = sh(process.execPath, [CLI, 'status', '--config', config, '--json'], { allowFail: true });
    try {
      const report = JSON.parse(status.stdout);
      if (report.repo?.head?.sha !== h) problems.push(`status says HEAD ${String(report.repo?.head?.sha).slice(0, 7)}`);
      const shown = Object.fromEntries((report.pm2?.processes ?? []).map((p) => [p.name, p.status]));
      if (shown[API] !== s[API] || shown[VALIDATOR] !== s[VALIDATOR]) problems.push(`status shows ${JSON.stringify(shown)}`);
    } catch {
      problems.push(`status --json printed no report (exit ${status.status})`);
    }
    return problems;
  };
  const descends = (pid, ancestor) => {
    for (let p = pid, i = 0; p > 1 && i < 64; i += 1) {
      if (p === ancestor) return true;
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      } catch {
        return false;
      }
    }
    return false;
  };

  console.log(`soak: ${CYCLES} cycles, seed ${SEED}, crash share ${CRASH_SHARE}, faults ${faults.join(', ')}${as ? ' (runs as alphacore-ci)' : ''}`);
  let survived = 0;
  const failedBy = {};
  const outcomes = {};
  for (let c = 1; c <= CYCLES; c += 1) {
    const crash = random() < CRASH_SHARE;
    const sha = push(crash);
    (crash ? bad : good).add(sha);
    const fault = pick(faults);
    cycleNow = c;
    faultNow = fault;
    const { r, undo } = await faulted(fault);
    for (const u of undo) u();
    const first = r.result ? `${r.result.outcome}${r.result.reason ? `/${r.result.reason}` : ''}` : r.sig ? `killed (${r.sig})` : `no result (exit ${r.code})`;
    let problems = check();
    let extra = '';
    if (problems.length) {
      const e = await normalRun();
      extra = e.result ? `${e.result.outcome}${e.result.reason ? `/${e.result.reason}` : ''}` : `no result (exit ${e.code})`;
      problems = check();
    }
    const key = `${fault}${crash ? '+crash' : ''}`;
    outcomes[key] = outcomes[key] ?? [];
    outcomes[key].push(`${first}${extra ? ` -> ${extra}` : ''}`);
    if (problems.length === 0) survived += 1;
    else failedBy[fault] = (failedBy[fault] ?? 0) + 1;
    console.log(`cycle ${c}/${CYCLES}: ${crash ? 'crashing' : 'good'} release ${sha.slice(0, 7)}, fault ${fault}: ${first}${extra ? `, then ${extra}` : ''} -> ${problems.length ? `NOT converged: ${problems.join('; ')}` : 'converged'}`);
    for (const q of readState()?.quarantine ?? []) if (good.has(q.sha)) reportedQ.add(q.sha);
    // A run the soak had to kill (its own timeout, not the kill-updater fault) hung: show why too.
    const hung = r.sig === 'SIGKILL' && fault !== 'kill-updater';
    if (hung) console.log(`    (the run outlived the soak's ${RUN_MS / 1000} s limit and was killed)`);
    if ((problems.length || hung) && process.env.SOAK_SHOW_LOG) {
      // What the failing cycle's runs said (the update log's last lines).
      const log = path.join(env.XDG_STATE_HOME, 'alphacore', 'autoupdate', 'alphacore.log');
      const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trimEnd().split('\n') : [];
      console.log(lines.slice(-Number(process.env.SOAK_SHOW_LOG)).map((l) => `    | ${l}`).join('\n'));
    }
    if (problems.length) {
      // The next cycle starts from a converged machine when one more run can make it so.
      await normalRun();
    }
  }
  clearInterval(sampler);
  console.log(`\nsoak: ${survived} / ${CYCLES} cycles survived (converged within one extra run); seed ${SEED}`);
  console.log(`soak: longest validator downtime ${(longestDown.ms / 1000).toFixed(2)} s (sampled every 250 ms; cycle ${longestDown.cycle}, fault ${longestDown.fault})`);
  if (Object.keys(failedBy).length) console.log(`soak: cycles not converged, by fault: ${JSON.stringify(failedBy)}`);
  if (diskSkip) console.log(`soak: fault full-disk was skipped: ${diskSkip}`);
  for (const [k, v] of Object.entries(outcomes).sort()) console.log(`  ${k}: ${v.join(', ')}`);
}

try {
  await main();
} finally {
  for (const c of cleanups) {
    try {
      c();
    } catch {
      // best effort
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

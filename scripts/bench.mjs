#!/usr/bin/env node
// `npm run bench`: the toolkit's costs, each measured side by side in the same
// run against what it is compared with, never against a constant. Median wall time of N
// runs (interleaved, so that the machine's load hits every variant alike) and the median
// peak RSS and CPU time (GNU time's %M, %U + %S), then ratios.
//   1. The timer's no-op run (HEAD = target) against the REAL bash updater of the AlphaCore
//      repository (scripts/validator/process/autoupdate_release.sh from the bundle) on the
//      same clone and config, with `node -e 0` and node plus the same git calls as floors;
//      the deferred run likewise.
//   2-3. Downtime of an update (scripts/bench-downtime.mjs, when present).
//   4. `status` with PM2 and the Validation API hung.
//   5. RESTART_POLICY prompt vs coalesce on a simulated week (scripts/bench-warmup.mjs).
// Prints figures; asserts nothing (no timed assertions in tests).
// BENCH_ONLY=noop,downtime,status,warmup (comma-separated) runs only the named parts (default: all);
// BENCH_RUNS / BENCH_STATUS_RUNS set the runs per variant of part 1 / part 4.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alphacoreSource } from './alphacore-source.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'alphacore.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const STATUS_RUNS = Number(process.env.BENCH_STATUS_RUNS ?? 7);
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const BIN_DIR = path.join(ROOT, 'node_modules', '.bin');
const ONLY = new Set((process.env.BENCH_ONLY ?? 'noop,downtime,status,warmup').split(',').map((p) => p.trim()).filter(Boolean));
for (const part of ONLY) if (!['noop', 'downtime', 'status', 'warmup'].includes(part)) throw new Error(`BENCH_ONLY: unknown part ${part} (noop, downtime, status, warmup)`);
const BASELINE = process.env.BENCH_BASELINE_CLI ? path.resolve(process.env.BENCH_BASELINE_CLI) : undefined;

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-bench-')));
const gitEnv = { PATH: process.env.PATH, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' };
// As root, the fixture belongs to the user the runs are made as (below): root's git needs safe.directory.
fs.writeFileSync(path.join(tmp, '.gitconfig'), '[safe]\n\tdirectory = *\n');

// `update` refuses root (DESIGN.md §5 step 0): as root, the timer runs (every variant, so
// the comparison stays fair) are those of BENCH_USER (default nobody) over a fixture that
// user owns, from a readable copy of the package when this checkout is closed to them.
const RUN_AS = process.getuid?.() === 0 ? benchUser() : undefined;
function benchUser() {
  const name = process.env.BENCH_USER ?? 'nobody';
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  fs.chmodSync(tmp, 0o755);
  let root = ROOT;
  if (spawnSync(process.execPath, [CLI, '--version'], { uid, gid, cwd: '/' }).status !== 0) {
    root = path.join(tmp, 'package');
    for (const entry of ['bin', 'dist', 'templates', 'node_modules', 'package.json']) {
      if (fs.existsSync(path.join(ROOT, entry))) fs.cpSync(path.join(ROOT, entry), path.join(root, entry), { recursive: true, verbatimSymlinks: true });
    }
    execFileSync('chmod', ['-R', 'a+rX', root]);
  }
  console.log(`(as root: the timer runs are ${name}'s)`);
  return { uid, gid, root };
}
const RUN_ROOT = RUN_AS?.root ?? ROOT;
/** Gives the fixture to the user the runs are made as (after every change root makes). */
const own = (dir) => RUN_AS && execFileSync('chown', ['-R', `${RUN_AS.uid}:${RUN_AS.gid}`, dir]);
const git = (cwd, ...args) =>
  execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, env: gitEnv, stdio: 'pipe', encoding: 'utf8' }).trim();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs every variant `runs` times, interleaved; returns per variant the wall times and peak RSS. */
function measure(variants, runs) {
  const stats = variants.map(() => ({ walls: [], rss: [], cpu: [] }));
  const rssFile = path.join(tmp, 'rss');
  for (let i = 0; i < runs; i += 1) {
    variants.forEach((v, k) => {
      const [cmd, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, v.file, ...v.args]] : [v.file, v.args];
      const start = process.hrtime.bigint();
      const as = v.asUser && RUN_AS ? { uid: RUN_AS.uid, gid: RUN_AS.gid } : {};
      if (GNU_TIME && as.uid !== undefined) {
        fs.writeFileSync(rssFile, '');
        fs.chownSync(rssFile, as.uid, as.gid);
      }
      const r = spawnSync(cmd, argv, { env: v.env, cwd: v.cwd ?? tmp, encoding: 'utf8', timeout: 120_000, ...as });
      stats[k].walls.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (GNU_TIME) {
        // The last line (GNU time puts a note about a non-zero exit before it).
        const [kib, user, sys] = fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
        stats[k].rss.push(kib / 1024);
        stats[k].cpu.push((user + sys) * 1000);
      }
      const problem = v.check?.(r);
      if (problem) throw new Error(`${v.name}: ${problem}\nexit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    });
  }
  return stats.map((s, k) => ({ name: variants[k].name, wall: median(s.walls), min: Math.min(...s.walls), max: Math.max(...s.walls), rss: s.rss.length ? median(s.rss) : undefined, cpu: s.cpu.length ? median(s.cpu) : undefined }));
}

function printRows(title, rows, note = '') {
  console.log(`\n${title}${note ? ` (${note})` : ''}`);
  for (const r of rows) {
    // CPU time (user + sys, 10 ms resolution) moves far less with the machine's load than wall time.
    const rss = r.rss === undefined ? 'peak RSS and CPU n/a (no /usr/bin/time)' : `${r.rss.toFixed(1).padStart(6)} MiB peak RSS  ${r.cpu.toFixed(0).padStart(4)} ms CPU`;
    console.log(`  ${r.name.padEnd(52)} ${r.wall.toFixed(1).padStart(8)} ms median (min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)})  ${rss}`);
  }
}

const ratio = (a, b) => `${(a.wall / b.wall).toFixed(2)}x${a.cpu !== undefined && b.cpu ? ` (CPU ${(a.cpu / b.cpu).toFixed(2)}x)` : ''}`;
const outputHas = (needle) => (r) => (`${r.stdout}${r.stderr}`.includes(needle) ? undefined : `expected output containing ${JSON.stringify(needle)}`);

/** A bare origin with `release` from the real repository, a deploy clone of it, and one config both updaters read. */
function realRepoFixture(source) {
  const dir = path.join(tmp, 'timer');
  fs.mkdirSync(dir);
  const origin = path.join(dir, 'origin.git');
  git(dir, 'clone', '--quiet', '--bare', source, origin);
  git(origin, 'branch', '--force', 'release', 'main');
  const author = path.join(dir, 'author');
  git(dir, 'clone', '--quiet', '--branch', 'release', origin, author);
  const deploy = path.join(dir, 'deploy');
  git(dir, 'clone', '--quiet', '--branch', 'release', origin, deploy);
  const script = path.join(deploy, 'scripts', 'validator', 'process', 'autoupdate_release.sh');
  if (!fs.existsSync(script)) throw new Error(`${script} missing: the bundle is not the AlphaCore repository`);
  fs.writeFileSync(path.join(dir, 'creds.json'), '{}');
  const roundLock = path.join(dir, 'round.lock');
  // Both updaters read this file: the bash one sources it (so plain words only), ours parses it.
  const config = path.join(dir, 'bench.env');
  fs.writeFileSync(
    config,
    [
      'NETWORK=test', 'WALLET_NAME=wallet', 'WALLET_HOTKEY=hotkey', 'NETUID=66', `PM2_NAMESPACE=bench-${process.pid}`,
      `GCP_CREDS_FILE=${path.join(dir, 'creds.json')}`, `REPO_DIR=${deploy}`,
      'VALIDATION_API_ENDPOINT=http://127.0.0.1:9', `VALIDATOR_ROUND_LOCKFILE=${roundLock}`, '',
    ].join('\n'),
  );
  // pm2 (the bash script requires it on PATH; a no-op or a deferral never calls it): the
  // devDependency, else a stand-in that would fail loudly if it were called.
  const fakeBin = path.join(dir, 'bin');
  fs.mkdirSync(fakeBin);
  if (!fs.existsSync(path.join(BIN_DIR, 'pm2'))) fs.writeFileSync(path.join(fakeBin, 'pm2'), '#!/bin/sh\necho "bench: pm2 was called: $*" >&2\nexit 99\n', { mode: 0o755 });
  const envFor = (name) => {
    const home = path.join(dir, `home-${name}`);
    fs.mkdirSync(home);
    // Separate state dirs: the bash updater's flock file and our lock must not meet.
    return { PATH: `${path.join(RUN_ROOT, 'node_modules', '.bin')}:${fakeBin}:${process.env.PATH}`, HOME: home, XDG_STATE_HOME: path.join(home, 'state'), XDG_CONFIG_HOME: path.join(home, 'config'), LANG: 'C.UTF-8', NO_COLOR: '1' };
  };
  return { dir, origin, author, deploy, script, config, roundLock, envFor };
}

async function benchTimer() {
  const source = alphacoreSource();
  if (!source) {
    console.log('\n1. no-op timer run vs the bash updater: skipped (no AlphaCore repository: set ALPHACORE_REPO or ALPHACORE_BUNDLE)');
    return;
  }
  const f = realRepoFixture(source);
  const nodeEnv = f.envFor('node');
  const bashEnv = f.envFor('bash');
  // The baseline's own home too, made before own() below so that the run's user owns it.
  const baselineEnv = BASELINE ? f.envFor('baseline') : undefined;
  // envFor makes a fresh home per name: the baseline's state stays apart from ours.
  own(f.dir);
  // The floor: node's start plus exactly the git calls of our no-op run, and nothing else.
  const gitCalls = `
    const { execFileSync } = require('node:child_process');
    const o = { cwd: ${JSON.stringify(f.deploy)}, stdio: 'pipe', env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } };
    execFileSync('git', ['status', '--porcelain=v1', '-z', '--untracked-files=no', '--ignore-submodules=none'], o);
    execFileSync('git', ['fetch', '--prune', '--no-tags', '--quiet', 'origin', 'release'], o);
    execFileSync('git', ['rev-parse', 'HEAD^{commit}', 'refs/remotes/origin/release^{commit}', '--symbolic-full-name', 'HEAD'], o);`;
  // The same, under the lock the run must take (DESIGN.md §5 step 2: the bash updater's
  // kernel flock, which Node can only take through util-linux's flock on an inherited fd):
  // the work no implementation in Node can skip. The 2.0x target is measured against it below.
  const lockedGitCalls = `
    const fd = require('node:fs').openSync(${JSON.stringify(path.join(f.dir, 'floor.lock'))}, 'w');
    require('node:child_process').execFileSync('flock', ['--nonblock', '--conflict-exit-code', '75', '3'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
    ${gitCalls}`;
  const variants = (outcome, bashSays) => [
    { name: 'floor: node -e 0', file: process.execPath, args: ['-e', '0'], env: nodeEnv },
    { name: 'floor: node + the same git calls', file: process.execPath, args: ['-e', gitCalls], env: nodeEnv },
    { name: 'floor: node + flock + the same git calls', file: process.execPath, args: ['-e', lockedGitCalls], env: nodeEnv },
    { name: 'bash updater (autoupdate_release.sh, real)', file: 'bash', args: [f.script, '--config', f.config], env: bashEnv, check: outputHas(bashSays) },
    { name: 'alphacore update (timer entry, bundled)', file: process.execPath, args: [path.join(RUN_ROOT, 'bin', 'alphacore.js'), 'update', '--config', f.config], env: nodeEnv, check: outputHas(`result: ${outcome}`) },
    { name: 'alphacore update (dist/cli.js, unbundled modules)', file: process.execPath, args: [path.join(RUN_ROOT, 'dist', 'cli.js'), 'update', '--config', f.config], env: nodeEnv, check: outputHas(`result: ${outcome}`) },
    // Before/after in the same run: BENCH_BASELINE_CLI names another build's bin/alphacore.js (e.g. a worktree of an older commit).
    ...(BASELINE ? [{ name: `baseline: ${path.relative(process.cwd(), BASELINE) || BASELINE}`.slice(0, 52), file: process.execPath, args: [BASELINE, 'update', '--config', f.config], env: baselineEnv, check: outputHas(`result: ${outcome}`) }] : []),
  ].map((v) => ({ ...v, asUser: true }));
  const report = (title, rows) => {
    printRows(title, rows, `${RUNS} runs each, interleaved`);
    const [floor, floorGit, floorLocked, bash, bundled, unbundled, baseline] = rows;
    console.log(`  => bundled / bash updater: ${ratio(bundled, bash)} (target <= 2.0x); / node+git floor: ${ratio(bundled, floorGit)}; unbundled / bundled: ${ratio(unbundled, bundled)}; bash / node -e 0: ${ratio(bash, floor)}`);
    // What the target leaves the toolkit once the work it cannot skip is paid.
    const budget = 2 * bash.wall - floorLocked.wall;
    console.log(`  => node + flock + git floor / bash updater: ${ratio(floorLocked, bash)}; 2.0x the bash updater leaves ${budget.toFixed(1)} ms above that floor; the bundled run uses ${(bundled.wall - floorLocked.wall).toFixed(1)} ms above it`);
    if (baseline) console.log(`  => baseline / bash updater: ${ratio(baseline, bash)}; baseline / bundled: ${ratio(baseline, bundled)}`);
  };
  report('1. no-op timer run (HEAD = target), same clone and config', measure(variants('up-to-date', 'Already up-to-date'), RUNS));

  // A new release while a round holds the lock: both fetch, compare and defer.
  git(f.author, 'commit', '--quiet', '--allow-empty', '-m', 'bench: next release');
  git(f.author, 'push', '--quiet', 'origin', 'HEAD:release');
  fs.writeFileSync(f.roundLock, JSON.stringify({ round_id: 1, block: 1, ts: Date.now() / 1000, pid: process.pid }));
  own(f.dir);
  report('1b. deferred run (a new release, a round in progress)', measure(variants('deferred', 'deferring update'), RUNS));
}

async function benchStatusHung() {
  const dir = path.join(tmp, 'status');
  fs.mkdirSync(dir);
  // Accepts connections and never answers (spawnSync blocks this process's event loop,
  // but the kernel still accepts the connection: the client waits, as on a hung API).
  const server = http.createServer(() => undefined);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const origin = path.join(dir, 'origin.git');
    const author = path.join(dir, 'author');
    const deploy = path.join(dir, 'deploy');
    git(dir, 'init', '-q', '--bare', '--initial-branch=release', origin);
    git(dir, 'init', '-q', '--initial-branch=release', author);
    git(author, 'commit', '-q', '--allow-empty', '-m', 'initial');
    git(author, 'push', '-q', origin, 'HEAD:release');
    git(dir, 'clone', '-q', '--branch', 'release', origin, deploy);
    fs.writeFileSync(path.join(dir, 'creds.json'), '{}');
    const pm2Bin = path.join(dir, 'pm2-hangs');
    fs.writeFileSync(pm2Bin, '#!/bin/sh\nsleep 86400\n', { mode: 0o755 });
    // status only asks pm2 when a daemon seems to run for PM2_HOME (it never starts one):
    // a live pid in pm2.pid, this process's.
    const pm2Home = path.join(dir, 'pm2-home');
    fs.mkdirSync(pm2Home);
    fs.writeFileSync(path.join(pm2Home, 'pm2.pid'), String(process.pid));
    const config = path.join(dir, 'bench.env');
    fs.writeFileSync(
      config,
      [
        'NETWORK=test', 'WALLET_NAME=wallet', 'WALLET_HOTKEY=hotkey', 'NETUID=66', 'PM2_NAMESPACE=bench-status',
        `GCP_CREDS_FILE=${path.join(dir, 'creds.json')}`, `REPO_DIR=${deploy}`,
        `VALIDATION_API_ENDPOINT=http://127.0.0.1:${server.address().port}`, `VALIDATOR_ROUND_LOCKFILE=${path.join(dir, 'round.lock')}`, '',
      ].join('\n'),
    );
    const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', NO_COLOR: '1', PM2_BIN: pm2Bin, PM2_HOME: pm2Home, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state') };
    const hung = (r) => (/^PM2 +unknown/m.test(r.stdout) && /^API +unreachable/m.test(r.stdout) ? undefined : 'expected "PM2 unknown" and "API unreachable"');
    const rows = measure(
      [
        { name: 'floor: node -e 0', file: process.execPath, args: ['-e', '0'], env },
        { name: 'alphacore status, PM2 and the API hung', file: process.execPath, args: [CLI, 'status', '--config', config], env, check: hung },
        ...(BASELINE ? [{ name: `baseline: ${path.relative(process.cwd(), BASELINE) || BASELINE}`.slice(0, 52), file: process.execPath, args: [BASELINE, 'status', '--config', config], env, check: hung }] : []),
      ],
      STATUS_RUNS,
    );
    printRows('4. status with PM2 and the Validation API hung', rows, `${STATUS_RUNS} runs each; target < 2000 ms`);
    console.log(`  => status: ${rows[1].wall < 2000 ? 'within' : 'OVER'} the 2 s target; ${(rows[1].wall - rows[0].wall).toFixed(0)} ms above node's own start`);
    if (rows[2]) console.log(`  => baseline status: ${(rows[2].wall - rows[1].wall).toFixed(0)} ms slower than this build's`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

try {
  console.log(`alphacore bench: node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (ONLY.has('noop')) await benchTimer();
  // Items 2 and 3 (downtime of an update) live in their own module when present.
  const downtime = path.join(ROOT, 'scripts', 'bench-downtime.mjs');
  if (!ONLY.has('downtime')) console.log('\n2-3. update downtime: skipped (BENCH_ONLY)');
  else if (fs.existsSync(downtime)) {
    const { benchDowntime } = await import(downtime);
    await benchDowntime();
    // Side by side: the baseline build's own downtime module, on the same machine in the same run.
    const baselineDowntime = BASELINE && path.join(path.dirname(path.dirname(BASELINE)), 'scripts', 'bench-downtime.mjs');
    if (baselineDowntime && fs.existsSync(baselineDowntime)) {
      console.log(`\n   the same with the baseline build (${path.relative(process.cwd(), path.dirname(path.dirname(BASELINE)))}):`);
      await (await import(baselineDowntime)).benchDowntime();
    }
  } else console.log('\n2-3. update downtime: skipped (scripts/bench-downtime.mjs not present)');
  if (ONLY.has('status')) await benchStatusHung();
  if (ONLY.has('warmup')) await (await import('./bench-warmup.mjs')).benchWarmup();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

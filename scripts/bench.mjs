#!/usr/bin/env node
// Benchmark of the timer's hot paths (issue 2): the median wall time and peak memory
// (max RSS of the node process) of a no-op `alphacore update` run and of a deferred
// run on a fixture, next to `node -e 0` as the floor. Prints figures; asserts nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'alphacore.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const GNU_TIME = ['/usr/bin/time'].find((p) => fs.existsSync(p));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-bench-'));
const gitEnv = { PATH: process.env.PATH, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1' };
const git = (cwd, ...args) =>
  execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, env: gitEnv, stdio: 'pipe' });

function fixture() {
  const bare = path.join(tmp, 'origin.git');
  const author = path.join(tmp, 'author');
  const deploy = path.join(tmp, 'deploy');
  git(tmp, 'init', '-q', '--bare', '--initial-branch=release', bare);
  git(tmp, 'init', '-q', '--initial-branch=release', author);
  for (let i = 0; i < 200; i += 1) {
    fs.mkdirSync(path.join(author, 'modules', `m${i % 20}`), { recursive: true });
    fs.writeFileSync(path.join(author, 'modules', `m${i % 20}`, `f${i}.py`), `print(${i})\n`.repeat(50));
  }
  git(author, 'add', '-A');
  git(author, 'commit', '-q', '-m', 'initial');
  git(author, 'push', '-q', bare, 'HEAD:release');
  git(tmp, 'clone', '-q', '--branch', 'release', bare, deploy);
  fs.writeFileSync(path.join(tmp, 'creds.json'), '{}');
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home);
  const roundLock = path.join(tmp, 'round.lock');
  const config = path.join(tmp, 'alphacore.env');
  fs.writeFileSync(
    config,
    [
      'NETWORK=test', 'WALLET_NAME=wallet', 'WALLET_HOTKEY=hotkey', 'NETUID=66',
      `GCP_CREDS_FILE=${path.join(tmp, 'creds.json')}`, `REPO_DIR=${deploy}`,
      'VALIDATION_API_ENDPOINT=http://127.0.0.1:9', `VALIDATOR_ROUND_LOCKFILE=${roundLock}`, '',
    ].join('\n'),
  );
  return { author, bare, config, roundLock, home };
}

function measure(label, file, args, env) {
  const walls = [];
  const rss = [];
  let lastOut = '';
  for (let i = 0; i < RUNS; i += 1) {
    const cmd = GNU_TIME ? GNU_TIME : file;
    const argv = GNU_TIME ? ['-f', '%M', file, ...args] : args;
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { env, encoding: 'utf8' });
    walls.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (GNU_TIME) rss.push(Number(r.stderr.trim().split('\n').at(-1)) / 1024);
    lastOut = r.stdout.trim().split('\n').at(-1) ?? '';
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mem = rss.length ? `${median(rss).toFixed(1)} MiB peak RSS (median), max ${Math.max(...rss).toFixed(1)}` : 'peak RSS n/a (no /usr/bin/time)';
  console.log(`${label.padEnd(34)} ${median(walls).toFixed(1).padStart(7)} ms median wall (min ${Math.min(...walls).toFixed(1)})   ${mem}`);
  return lastOut;
}

try {
  const f = fixture();
  const env = { PATH: process.env.PATH, HOME: f.home, LANG: 'C.UTF-8' };
  console.log(`alphacore update hot paths, ${RUNS} runs each, node ${process.version}, ${os.cpus().length} cores`);
  measure('floor: node -e 0', process.execPath, ['-e', '0'], env);
  const noop = measure('no-op run (up-to-date)', process.execPath, [CLI, 'update', '--config', f.config], env);
  if (!noop.includes('result: up-to-date')) throw new Error(`unexpected no-op output: ${noop}`);
  // A new release while a round holds the lock: the run fetches, decides, defers.
  git(f.author, 'commit', '-q', '--allow-empty', '-m', 'release 2');
  git(f.author, 'push', '-q', f.bare, 'HEAD:release');
  fs.writeFileSync(f.roundLock, JSON.stringify({ round_id: 1, block: 1, ts: Date.now() / 1000, pid: process.pid }));
  const deferred = measure('deferred run (round-active)', process.execPath, [CLI, 'update', '--config', f.config], env);
  if (!deferred.includes('result: deferred')) throw new Error(`unexpected deferred output: ${deferred}`);
  console.log('reference: the bash updater, per no-op run on these machines: 140-175 ms wall, 11.5 MiB');
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

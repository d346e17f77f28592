#!/usr/bin/env node
// Bench items 2 and 3 (called by scripts/bench.mjs, or run alone): the
// downtime of an update (first stop -> validator online) on the REAL scripts of the
// AlphaCore repository (the bundle), with only Python faked (test/helpers/fake-python),
// under an isolated PM2, measured side by side in one run:
//   a. the fake services' own start time (pm2 restart of the API, then of the validator,
//      each until it serves / is online): the floor any swap pays;
//   b. an update with unchanged requirements: its downtime and phases; then the same
//      through the pm2 CLI only (before/after the daemon connection, in the same run);
//   c. an update that changes modules/requirements.txt with a pip that takes 30 s: the
//      venvs are prepared before the stop, so its downtime must not include those 30 s.
// Figures only; asserts nothing. `update` refuses root: as root, runs as alphacore-ci
// (the test suite's throwaway user) when it exists.
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
const PIP_DELAY_S = Number(process.env.BENCH_PIP_DELAY ?? 30);

export async function benchDowntime() {
  const src = alphacoreSource();
  const as = throwawayUser();
  if (!src) return void console.log('\n2-3. update downtime: skipped (no AlphaCore bundle or ALPHACORE_REPO)');
  if (as === null) return void console.log('\n2-3. update downtime: skipped (running as root and no alphacore-ci user to run update as)');
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-bench-downtime-')));
  fs.chmodSync(tmp, 0o755);
  const home = path.join(tmp, 'home');
  const pm2Home = path.join(home, '.pm2');
  const pyDir = path.join(tmp, 'python');
  const control = path.join(pyDir, 'control');
  let stopDaemon = () => undefined;
  try {
    installRuntime(pyDir);
    const settings = (s) => fs.writeFileSync(path.join(control, 'settings.json'), JSON.stringify(s), { mode: 0o644 });

    // Origin (release = main's first parent), an author clone, the deploy clone.
    // safe.directory in a global file: a local push's receive-pack ignores `-c` (the tree goes to the user).
    const gitConfig = path.join(tmp, 'gitconfig');
    fs.writeFileSync(gitConfig, '[safe]\n\tdirectory = *\n');
    const gitEnv = { PATH: process.env.PATH, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: gitConfig, LANG: 'C' };
    const git = (cwd, ...args) => execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=b@example.com', '-c', 'commit.gpgsign=false', '-c', 'safe.directory=*', ...args], { cwd, env: gitEnv, encoding: 'utf8', stdio: 'pipe' }).trim();
    const origin = path.join(tmp, 'origin.git');
    git(tmp, 'clone', '--quiet', '--bare', src, origin);
    git(origin, 'branch', '--force', 'release', 'main~1');
    const author = path.join(tmp, 'author');
    git(tmp, 'clone', '--quiet', '--branch', 'release', origin, author);
    const deploy = path.join(tmp, 'AlphaCore');
    git(tmp, 'clone', '--quiet', '--branch', 'release', origin, deploy);
    const push = (files) => {
      for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(author, f), c);
      git(author, 'add', '-A');
      git(author, 'commit', '--quiet', '-m', 'bench release');
      git(author, 'push', '--quiet', 'origin', 'HEAD:release');
      return git(author, 'rev-parse', 'HEAD');
    };

    const [apiPort, httpPort] = [await freePort(), await freePort()];
    const creds = path.join(tmp, 'sa.json');
    fs.writeFileSync(creds, JSON.stringify({ client_email: 'bench@proj.iam.gserviceaccount.com' }));
    fs.mkdirSync(home, { recursive: true });
    // The wallet launch checks for (btcli's layout; placeholders: the stub validator reads no key).
    fs.mkdirSync(path.join(home, '.bittensor', 'wallets', 'cold', 'hotkeys'), { recursive: true });
    fs.writeFileSync(path.join(home, '.bittensor', 'wallets', 'cold', 'coldkeypub.txt'), '{"ss58Address": "bench"}\n');
    fs.writeFileSync(path.join(home, '.bittensor', 'wallets', 'cold', 'hotkeys', 'hot'), '{"ss58Address": "bench"}\n');
    const env = {
      PATH: `${path.join(pyDir, 'bin')}:${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      PM2_HOME: pm2Home,
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      ...(as ? { USER: as.name, LOGNAME: as.name } : {}),
    };
    if (as) execFileSync('chown', ['-R', `${as.uid}:${as.gid}`, tmp]);
    const sh = (file, args, opts = {}) => {
      const r = spawnSync(file, args, { env: { ...env, ...opts.env }, cwd: opts.cwd ?? deploy, encoding: 'utf8', timeout: 600_000, ...(as ? { uid: as.uid, gid: as.gid } : {}) });
      if (r.status !== 0 && !opts.allowFail) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
      return r;
    };
    const pm2 = (...args) => sh(path.join(ROOT, 'node_modules', '.bin', 'pm2'), args, { cwd: home }).stdout;
    const alphacore = (...args) => sh(process.execPath, [CLI, ...args], { cwd: deploy });
    const jlist = () => JSON.parse(pm2('jlist').split('\n').filter((l) => l.startsWith('[')).at(-1) ?? '[]');

    pm2('ping');
    // Our own isolated daemon (PM2_HOME in tmp), never the operator's.
    stopDaemon = () => sh(path.join(ROOT, 'node_modules', '.bin', 'pm2'), ['kill'], { cwd: home, allowFail: true });
    sh('/bin/bash', [path.join(deploy, 'scripts/validator/process/launch_validation_api.sh'), '--gcp-creds-file', creds, '--port', String(apiPort), '--pm2-namespace', 'alphacore']);
    const apiUp = () => fetch(`http://127.0.0.1:${apiPort}/validate/active`).then((r) => r.ok).catch(() => false);
    const until = async (probe, ms = 60_000) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (await probe()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('bench: timed out waiting');
    };
    await until(apiUp);
    alphacore('launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds, '--validation-api-endpoint', `http://127.0.0.1:${apiPort}`, '--http-port', String(httpPort), '--disable-llm', '--no-autoupdate');
    const config = path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', 'alphacore.env');
    fs.appendFileSync(config, `VALIDATION_HTTP_PORT=${apiPort}\nHEALTH_STABLE=2s\nHEALTH_TIMEOUT=60s\n`);

    // a. The services' own start: restart the API until it serves, then the validator until online.
    const own = [];
    for (let i = 0; i < 3; i += 1) {
      const t0 = Date.now();
      pm2('restart', 'alphacore-validation-api');
      await until(apiUp);
      pm2('restart', 'validator-hot-test');
      await until(() => jlist().some((p) => p.name === 'validator-hot-test' && p.pm2_env.status === 'online'));
      own.push(Date.now() - t0);
    }
    const update = (extraEnv = {}) => {
      const r = sh(process.execPath, [CLI, 'update', '--config', config, '--json'], { cwd: home, allowFail: true, env: extraEnv });
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1));
      const history = fs.readFileSync(path.join(env.XDG_STATE_HOME, 'alphacore', 'autoupdate', 'alphacore.history.jsonl'), 'utf8').trim().split('\n');
      const h = JSON.parse(history.at(-1));
      if (last.outcome !== 'updated') throw new Error(`bench update: ${last.outcome} ${last.reason ?? ''}\n${r.stdout}`);
      return h;
    };
    // The first update also prepares the current commit's venvs (a one-time cost): not measured.
    push({ VERSION: '0.0.1-bench\n' });
    update();
    const same = [];
    for (let i = 0; i < 3; i += 1) {
      push({ VERSION: `0.0.${i + 2}-bench\n` });
      same.push(update());
    }
    // The same update with PM2 through its CLI only, as before the daemon connection:
    // PM2_BIN is a wrapper script, in which the update finds no pm2 package to speak to
    // the daemon with (docs/update-cycle.md), so every PM2 step is a `pm2` CLI call.
    const cliWrapper = path.join(tmp, 'pm2-cli-only');
    fs.writeFileSync(cliWrapper, `#!/bin/sh\nexec '${path.join(ROOT, 'node_modules', '.bin', 'pm2')}' "$@"\n`, { mode: 0o755 });
    const cliOnly = [];
    for (let i = 0; i < 3; i += 1) {
      push({ VERSION: `0.0.${i + 10}-bench\n` });
      cliOnly.push(update({ PM2_BIN: cliWrapper }));
    }
    // pip takes PIP_DELAY_S while it downloads (the prepare step); once the journal is
    // written (the stop) everything is installed and pip with PIP_NO_INDEX is quick, as
    // the real one is: the fake's delay applies to every install, so it is lifted there.
    settings({ pipDelaySeconds: PIP_DELAY_S });
    const reqs = fs.readFileSync(path.join(author, 'modules', 'requirements.txt'), 'utf8');
    push({ 'modules/requirements.txt': `${reqs}bench-extra-package==1.0\n` });
    const stateFile = path.join(env.XDG_STATE_HOME, 'alphacore', 'autoupdate', 'alphacore.state.json');
    const lift = setInterval(() => {
      try {
        if (JSON.parse(fs.readFileSync(stateFile, 'utf8')).journal) settings({});
      } catch {
        // mid-rename
      }
    }, 20);
    // Spawned without blocking, so the watch above runs meanwhile.
    await new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, 'update', '--config', config, '--json'], { env, cwd: home, stdio: 'ignore', ...(as ? { uid: as.uid, gid: as.gid } : {}) });
      child.on('exit', resolve);
    });
    const changed = JSON.parse(fs.readFileSync(path.join(env.XDG_STATE_HOME, 'alphacore', 'autoupdate', 'alphacore.history.jsonl'), 'utf8').trim().split('\n').at(-1));
    if (changed.outcome !== 'updated') throw new Error(`bench update (changed requirements): ${changed.outcome} ${changed.reason ?? ''}`);
    clearInterval(lift);
    settings({});

    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
    const ownMs = med(own);
    const sameMs = med(same.map((h) => h.downtimeMs));
    console.log(`\n2-3. update downtime on the real scripts (fake Python; median of 3 where repeated)`);
    console.log(`  fake services' own start (pm2 restart API -> serves, validator -> online)  ${fmt(ownMs)}`);
    console.log(`  update, requirements unchanged: downtime ${fmt(sameMs)} (toolkit's share ${fmt(sameMs - ownMs)}); phases ${JSON.stringify(same[1].phasesMs)}`);
    const cliMs = med(cliOnly.map((h) => h.downtimeMs));
    console.log(`  the same update, PM2 through its CLI only (before the daemon connection): downtime ${fmt(cliMs)} (toolkit's share ${fmt(cliMs - ownMs)}); phases ${JSON.stringify(cliOnly[1].phasesMs)}`);
    console.log(`  update, requirements changed, pip ${PIP_DELAY_S} s: downtime ${fmt(changed.downtimeMs)}; prepare ${fmt(changed.phasesMs.prepare ?? 0)} before the stop; phases ${JSON.stringify(changed.phasesMs)}`);
    console.log(`  targets: unchanged <= own start + 1.0 s: ${sameMs <= ownMs + 1000 ? 'met' : 'NOT met'}; changed excludes pip: ${changed.downtimeMs < PIP_DELAY_S * 1000 ? 'met' : 'NOT met'}`);
    return { ownMs, sameMs, cliMs, changedMs: changed.downtimeMs, prepareMs: changed.phasesMs.prepare };
  } finally {
    stopDaemon();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDowntime();

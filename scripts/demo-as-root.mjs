// `npm run demo` as root: alphacore launch refuses root (the validator, its PM2 and its
// timer belong to an ordinary user), and that refusal stays. So the demo creates a
// throwaway unprivileged user, stages a copy of the built package it can read, runs
// the whole demo as that user, then ends that user's processes (by pid) and removes
// the user and the copy. Many validator machines are rented boxes with only a root shell.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const STAGED = ['bin', 'dist', 'templates', 'scripts', 'node_modules', 'package.json', 'test/fixtures', 'test/helpers/fake-python'];

function processesOf(uid) {
  const out = spawnSync('ps', ['-u', String(uid), '-o', 'pid='], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').map((l) => Number(l.trim())).filter((p) => Number.isInteger(p) && p > 0);
}

export function demoAsThrowawayUser(root) {
  const name = `alphacore-demo-${crypto.randomBytes(3).toString('hex')}`;
  console.log(
    `npm run demo is running as root. alphacore launch refuses root (the validator belongs to an ordinary user), ` +
      `so the demo runs as a throwaway unprivileged user, ${name}, created now and removed at the end.`,
  );
  const stage = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-demo-stage-')));
  const home = path.join(stage, 'home');
  let uid;
  // Ctrl-C reaches the demo (same terminal); this process stays to clean up after it.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  try {
    execFileSync('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', '--user-group', name], { stdio: 'inherit' });
    uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    const pkg = path.join(stage, 'alphacore-launcher');
    for (const entry of STAGED) {
      const from = path.join(root, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(pkg, entry), { recursive: true, verbatimSymlinks: true });
    }
    fs.mkdirSync(home);
    fs.chownSync(home, uid, gid);
    fs.chmodSync(stage, 0o755);
    execFileSync('chmod', ['-R', 'a+rX', pkg]);
    const env = {
      PATH: [path.dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
      HOME: home,
      USER: name,
      LOGNAME: name,
      LANG: process.env.LANG ?? 'C.UTF-8',
      ...(process.env.TERM ? { TERM: process.env.TERM } : {}),
      ...('NO_COLOR' in process.env ? { NO_COLOR: process.env.NO_COLOR } : {}),
    };
    const probe = spawnSync(process.execPath, ['--version'], { uid, gid, env, cwd: home });
    if (probe.status !== 0) {
      console.error(`npm run demo: ${process.execPath} cannot be run by an unprivileged user (${String(probe.error?.message ?? probe.stderr).trim()}). Install Node.js system-wide, or run the demo as an ordinary user.`);
      return 2;
    }
    const r = spawnSync(process.execPath, [path.join(pkg, 'scripts', 'demo.mjs')], { uid, gid, env, cwd: home, stdio: 'inherit' });
    return r.status ?? 1;
  } finally {
    if (uid !== undefined) {
      for (const pid of processesOf(uid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    spawnSync('userdel', [name], { stdio: 'inherit' });
    fs.rmSync(stage, { recursive: true, force: true });
    process.off('SIGINT', ignore);
    process.off('SIGTERM', ignore);
    console.log(`Removed the throwaway user ${name}, its processes and ${stage}.`);
  }
}

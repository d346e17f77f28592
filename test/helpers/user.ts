import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, inject } from 'vitest';
import { toCliResult, type CliResult } from './cli.js';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface StagedRun {
  user: TestUser;
  /** Package root the user can read. */
  packageRoot: string;
  cli: string;
}

/** The throwaway user and the staged package, or the reason tests needing them skip. */
export function stage(): { ready: StagedRun; skip?: undefined } | { ready?: undefined; skip: string } {
  const s = inject('stage');
  if (!s?.user || !s.packageRoot) return { skip: s?.skip ?? 'no stage provided (global setup did not run)' };
  return { ready: { user: s.user, packageRoot: s.packageRoot, cli: path.join(s.packageRoot, 'bin', 'alphacore.js') } };
}

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temp dir owned by the user (removed after the test). */
export function userTempDir(user: TestUser, prefix = 'alphacore-user-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  fs.chownSync(dir, user.uid, user.gid);
  made.push(dir);
  return dir;
}

/** Gives a tree to the user (fixtures made by root for the user to run). */
export async function chownTree(dir: string, user: TestUser): Promise<void> {
  await execa('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
}

/** Runs a program as the user, with exactly the given environment. */
export async function runAs(user: TestUser, file: string, args: string[], options: { env: Record<string, string>; cwd?: string; timeoutMs?: number }) {
  return execa(file, args, {
    uid: user.uid,
    gid: user.gid,
    env: { USER: user.name, LOGNAME: user.name, ...options.env },
    extendEnv: false,
    cwd: options.cwd ?? options.env.HOME,
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
    stdin: 'ignore',
  });
}

/** Runs the staged CLI as the user. */
export async function runCliAs(run: StagedRun, args: string[], options: { env: Record<string, string>; cwd?: string; timeoutMs?: number }): Promise<CliResult> {
  return toCliResult(await runAs(run.user, process.execPath, [run.cli, ...args], options));
}

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Runs once before all test files. As root (CI), it makes sure the throwaway user
 * exists and stages the built package where that user can read it: CI's clone may
 * live in a folder the user cannot enter (DESIGN.md §8).
 */
const USER = 'alphacore-ci';
const ROOT = path.resolve(import.meta.dirname, '..');

export interface Stage {
  /** Why tests that need root cannot run, or undefined when they can. */
  skip?: string;
  user?: { name: string; uid: number; gid: number; home: string };
  /** Package root readable by the user: bin/, dist/, templates/, node_modules/. */
  packageRoot?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stage: Stage;
  }
}

let staged: string | undefined;
let gitConfigDir: string | undefined;

export function setup(project: TestProject): void {
  // One safe.directory git config for the whole run (test/helpers/tmp.ts), made here and
  // removed in teardown: a config per test process leaked whenever vitest ended a worker
  // by a signal, before its exit hook could remove it.
  gitConfigDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-gitconfig-'));
  fs.writeFileSync(path.join(gitConfigDir, 'gitconfig'), '[safe]\n\tdirectory = *\n');
  fs.chmodSync(gitConfigDir, 0o755);
  process.env.ALPHACORE_TEST_GITCONFIG = path.join(gitConfigDir, 'gitconfig');
  if (process.getuid?.() !== 0) {
    project.provide('stage', { skip: 'not running as root: cannot create the throwaway user (CI runs these as root)' });
    return;
  }
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', USER], { stdio: 'inherit' });
  }
  const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  const home = execFileSync('getent', ['passwd', USER], { encoding: 'utf8' }).split(':')[5]!;
  staged = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-stage-'));
  const packageRoot = path.join(staged, 'alphacore launcher'); // a space, on purpose
  fs.mkdirSync(packageRoot);
  for (const entry of ['bin', 'dist', 'templates', 'scripts', 'node_modules', 'package.json', 'test/fixtures', 'test/helpers/fake-python']) {
    const from = path.join(ROOT, entry);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(packageRoot, entry), { recursive: true, verbatimSymlinks: true });
  }
  execFileSync('chmod', ['-R', 'a+rX', staged]);
  project.provide('stage', { user: { name: USER, uid, gid, home }, packageRoot });
}

export function teardown(): void {
  if (staged) fs.rmSync(staged, { recursive: true, force: true });
  if (gitConfigDir) fs.rmSync(gitConfigDir, { recursive: true, force: true });
}

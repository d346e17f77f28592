import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../../core/errors.js';

/** How validation may ask about a folder (tests pass a fake; launch the real file system). */
export interface WriteFacts {
  exists(file: string): boolean;
  /** Whether `dir` is a folder this user may create entries in. */
  writableDir?(dir: string): boolean;
  isDir?(file: string): boolean;
}

const isDirectory = (file: string): boolean => {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
};

export function canWriteDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    return false;
  }
  return isDirectory(dir);
}

/**
 * Why launch could not create `dir` (or entries in it), or undefined when it can: the
 * nearest folder that exists must be writable, since every missing one below it is made
 * from there. Checked while validating, so that an unwritable --venv-dir or --env-out is
 * bad input (exit 2, nothing changed, --dry-run says so too), not an EACCES halfway in.
 * `label` names the flag as typed (e.g. `--venv-dir /nonexistent/venv`); `fix` ends the message.
 */
export function folderProblem(label: string, dir: string, facts: WriteFacts, fix: string): string | undefined {
  const writable = facts.writableDir ?? canWriteDir;
  const isDir = facts.isDir ?? isDirectory;
  let existing = dir;
  let firstMissing: string | undefined;
  while (!facts.exists(existing) && path.dirname(existing) !== existing) {
    firstMissing = existing;
    existing = path.dirname(existing);
  }
  if (!isDir(existing)) return `${label}: ${existing} is not a folder; ${fix}.`;
  if (writable(existing)) return undefined;
  return firstMissing
    ? `${label}: cannot create ${firstMissing} (permission denied: ${existing} is not writable by this user); ${fix}.`
    : `${label}: ${existing} is not writable by this user (permission denied); ${fix}.`;
}

/**
 * A failed write while applying (a folder changed since validation, a full disk) as an
 * OperationError naming what was being written and the fix, never a crash with a stack.
 */
export async function writeStep<T>(what: string, fix: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw error;
    throw new OperationError(`Could not write ${what}: ${(error as Error).message}. ${fix}`, { cause: error });
  }
}

/** The folders launch writes into that a flag chose (or that default into the clone). */
export interface LaunchWrites {
  /** The deploy clone, '' when unknown (its problem is reported already; the defaults inside it mean nothing then). */
  repoDir: string;
  venvDir: string;
  /** The venv is complete: launch only reads it. */
  venvPresent: boolean;
  venvFlag?: string;
  envFile: string;
  envFlag?: string;
  roundLockfileFlag?: string;
  roundLockfile: string;
}

export function launchWriteProblems(w: LaunchWrites, facts: WriteFacts): string[] {
  const problems: string[] = [];
  const add = (problem: string | undefined) => problem && problems.push(problem);
  if (!w.venvPresent && (w.venvFlag !== undefined || w.repoDir)) {
    const label = w.venvFlag !== undefined ? `--venv-dir ${w.venvFlag}` : `The validator venv ${w.venvDir} (the default)`;
    add(folderProblem(label, w.venvDir, facts, w.venvFlag !== undefined ? 'pass a folder you can write' : 'pass --venv-dir with a folder you can write, or an existing venv'));
  }
  // An existing env file may sit in a folder only its owner writes; if launch must change it, apply says so.
  if (!facts.exists(w.envFile) && (w.envFlag !== undefined || w.repoDir)) {
    const label = w.envFlag !== undefined ? `--env-out ${w.envFlag}` : `The validator env file ${w.envFile} (the default)`;
    add(folderProblem(label, path.dirname(w.envFile), facts, w.envFlag !== undefined ? 'pass a path in a folder you can write' : 'pass --env-out with a path in a folder you can write'));
  }
  if (w.roundLockfileFlag !== undefined && path.isAbsolute(w.roundLockfile)) {
    add(folderProblem(`--round-lockfile ${w.roundLockfileFlag}`, path.dirname(w.roundLockfile), facts, 'pass a path in a folder you can write'));
  }
  return problems;
}

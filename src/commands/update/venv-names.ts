import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../../core/context.js';

/** The kinds of prepared venv (§5.4): one for the validator, one for the Validation API. */
export type VenvKind = 'validator' | 'api';

export const COMPLETE_MARKER = '.alphacore-complete';

/** Where prepared venvs live: ~/.local/share/alphacore/venvs (XDG_DATA_HOME), shared by every namespace. */
export function venvRoot(ctx: Context): string {
  const data = ctx.env.XDG_DATA_HOME && path.isAbsolute(ctx.env.XDG_DATA_HOME) ? ctx.env.XDG_DATA_HOME : path.join(ctx.paths.home, '.local', 'share');
  return path.join(data, 'alphacore', 'venvs');
}

/** Content-addressed: `<kind>-<sha256 of the requirements file, short>`. */
export function venvName(kind: VenvKind, requirements: Buffer): string {
  return `${kind}-${requirementsHash(requirements)}`;
}

export function requirementsHash(requirements: Buffer): string {
  // Loaded on use: observe.ts is part of the timer's no-op run, which never hashes, and
  // loading node:crypto costs every run about a megabyte.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(requirements).digest('hex').slice(0, 16);
}

/** Marked complete only once `pip install -r` succeeded. */
export function isComplete(dir: string): boolean {
  return fs.existsSync(path.join(dir, COMPLETE_MARKER)) && fs.existsSync(path.join(dir, 'bin', 'activate'));
}

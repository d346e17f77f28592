import fs from 'node:fs';
import path from 'node:path';
import { pm2Home } from '../../adapters/pm2-home.js';
import type { Pm2Process } from '../../adapters/pm2.js';
import type { Context } from '../../core/context.js';

/**
 * Which prepared venvs (§5.4) something may still need. The venv root is shared by every
 * namespace of the user, so an update of one namespace must not judge by its own state
 * alone: the trial's update of namespace `alphacore` removed the venv that namespace
 * `testnet`'s validator ran on (its launch had copied --venv-dir from alphacore's config).
 *
 * A name counts as needed when it appears anywhere in:
 *  - any namespace's state file (`<ns>.state.json`: venvs.current/previous, a journal's
 *    venvs) other than the running namespace's, whose new state the caller passes;
 *  - any auto-update config in the config dir (`*.env`), and this run's own config
 *    (VALIDATOR_VENV_DIR, VALIDATION_VENV_DIR, a --venv-dir in the extra args);
 *  - PM2's saved process list (`dump.pm2`, what a reboot resurrects);
 *  - the environment, interpreter, script or cwd of any process of the running PM2 daemon.
 * And a venv prepared or reused in the last RECENT_MS is kept whatever names it: another
 * namespace's update may be between its prepare and its swap (updates of different
 * namespaces hold different locks), and its venvs are recorded only at the swap.
 * The texts are searched for the names rather than parsed by key: a file that does not
 * parse, a comment or a symlinked path then keeps a venv rather than losing one. The
 * names carry 64 bits of a hash, so an accidental match is not a concern.
 */
const NAME_SOURCE = '(?:validator|api)-[0-9a-f]{16}';
const NAME = new RegExp(`\\b${NAME_SOURCE}\\b`, 'g');

/** Whether a folder name is a prepared venv's (`<kind>-<16 hex>`, prepare.ts venvName). */
export const isPreparedName = (name: string): boolean => new RegExp(`^${NAME_SOURCE}$`).test(name);
const MAX_TEXT = 4 * 1024 * 1024;

/** Every prepared-venv name (`<kind>-<16 hex>`) a text mentions. */
export function venvNamesIn(text: string): string[] {
  return text.match(NAME) ?? [];
}

/** A file's text, through a symlink too (only read, to keep more); '' for a missing, special or huge one. */
function textOf(file: string): string {
  try {
    const stat = fs.statSync(file);
    return stat.isFile() && stat.size <= MAX_TEXT ? fs.readFileSync(file, 'utf8') : '';
  } catch {
    return '';
  }
}

function filesIn(dir: string, suffix: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n.endsWith(suffix)).map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

/** The names the user's files mention: other namespaces' states, the configs, PM2's dump. */
export function venvsNamedOnDisk(ctx: Context, own: { stateFile: string; configFile: string }): Set<string> {
  const files = [
    ...filesIn(ctx.paths.autoupdateStateDir, '.state.json').filter((f) => f !== own.stateFile),
    ...filesIn(ctx.paths.autoupdateConfigDir, '.env'),
    own.configFile,
    path.join(pm2Home(ctx), 'dump.pm2'),
  ];
  const names = new Set<string>();
  for (const file of new Set(files)) for (const name of venvNamesIn(textOf(file))) names.add(name);
  return names;
}

/** The names PM2's live processes point at (VENV_DIR in their env, an interpreter in a venv...). */
export function venvsOfProcesses(processes: readonly Pm2Process[]): Set<string> {
  const names = new Set<string>();
  for (const p of processes) {
    const texts = [...Object.values(p.env ?? {}), p.interpreter ?? '', p.script ?? '', p.cwd ?? ''];
    for (const text of texts) for (const name of venvNamesIn(text)) names.add(name);
  }
  return names;
}

/** True when `dir` looks like a venv the prepare stage made: a real folder with its marker, requirements copy or pyvenv.cfg. */
export function looksPrepared(dir: string): boolean {
  try {
    if (!fs.lstatSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  return ['.alphacore-complete', 'alphacore-requirements.txt', 'pyvenv.cfg'].some((f) => fs.existsSync(path.join(dir, f)));
}

/** Longer than a whole update run (the timer unit's 60 min cap), prepare to swap included. */
export const RECENT_MS = 2 * 60 * 60 * 1000;

/** True when the venv was prepared or reused (its folder or marker changed) in the last RECENT_MS. */
export function preparedLately(dir: string, now: Date): boolean {
  let newest = 0;
  for (const f of [dir, path.join(dir, '.alphacore-complete')]) {
    try {
      newest = Math.max(newest, fs.statSync(f).mtimeMs);
    } catch {
      // no marker yet (a prepare in progress): the folder's own time counts
    }
  }
  return now.getTime() - newest < RECENT_MS;
}

import fs from 'node:fs';
import { scanEnvFile, type EnvEntry } from './envfile.js';
import { nearest } from './suggest.js';

/**
 * Where the auto-update config's settings come from, before any of them is judged:
 * the file's lines, then the environment, then the flags (defaults are the
 * interpreter's, in config.ts). Each setting keeps its origin, so a problem with it
 * names the file and line, the environment or the flag.
 */

export type Origin = { kind: 'file'; file: string; line: number } | { kind: 'env' } | { kind: 'flag'; flag: string };

export interface Setting {
  value: string;
  origin: Origin;
}

export interface ConfigSource<K extends string> {
  file: string;
  /** read; missing (ENOENT); unreadable (permissions, a directory...: `readError` says). */
  found: 'read' | 'missing' | 'unreadable';
  readError?: string;
  /** The winning setting of each key; an empty value counts as not set, as in the bash updater. */
  settings: Partial<Record<K, Setting>>;
  /** Keys of the file this version does not know. */
  unknown: string[];
  /** Lines that could not be read (file:line: why). */
  lineProblems: string[];
  /** Unknown keys (with the nearest known one) and keys given twice. */
  warnings: string[];
}

/** A flag that overrides a key (`--repo-dir` for REPO_DIR). */
export interface FlagSetting {
  value: string | undefined;
  flag: string;
}

/** How a problem with a setting starts: where the value came from. */
export function originOf(setting: Setting | undefined): string {
  if (!setting) return '';
  const o = setting.origin;
  return o.kind === 'file' ? `${o.file}:${o.line}: ` : o.kind === 'env' ? 'environment: ' : `${o.flag}: `;
}

/** Reads the file (a missing or unreadable one yields no lines) and merges the sources. */
export function readConfigSource<K extends string>(
  file: string,
  keys: readonly K[],
  env: Readonly<Record<string, string | undefined>>,
  flags: Partial<Record<K, FlagSetting>>,
  home: string,
  text?: string,
): ConfigSource<K> {
  let found: ConfigSource<K>['found'] = 'read';
  let readError: string | undefined;
  if (text === undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      readError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      found = readError === 'ENOENT' ? 'missing' : 'unreadable';
      text = '';
    }
  }
  const known = new Set<string>(keys);
  const settings: Partial<Record<K, Setting>> = {};
  const unknown: string[] = [];
  const { entries, problems } = scanEnvFile(text.replace(/^\uFEFF/, ''), { source: file, home });
  for (const entry of entries) {
    // The last line wins, as when a shell sources the file; an empty value is no value.
    if (!known.has(entry.key)) {
      if (!unknown.includes(entry.key)) unknown.push(entry.key);
    } else if (entry.value === '') delete settings[entry.key as K];
    else settings[entry.key as K] = { value: entry.value, origin: { kind: 'file', file, line: entry.line } };
  }
  for (const key of keys) {
    const fromEnv = env[key];
    if (fromEnv !== undefined && fromEnv !== '') settings[key] = { value: fromEnv, origin: { kind: 'env' } };
  }
  for (const [key, flag] of Object.entries(flags) as [K, FlagSetting | undefined][]) {
    if (flag?.value) settings[key] = { value: flag.value, origin: { kind: 'flag', flag: flag.flag } };
  }
  return { file, found, ...(readError ? { readError } : {}), settings, unknown, lineProblems: problems, warnings: keyWarnings(entries, file, keys) };
}

/**
 * What is odd but not wrong in a config: a key this version does not know (with the
 * nearest known key, `NETWROK` -> `NETWORK`) and a key given twice (the last wins, as
 * when a shell sources the file). Said also when errors stop the run.
 */
export function keyWarnings(entries: readonly EnvEntry[], file: string, keys: readonly string[]): string[] {
  const warnings: string[] = [];
  const known = new Set<string>(keys);
  const lines = new Map<string, number[]>();
  for (const e of entries) lines.set(e.key, [...(lines.get(e.key) ?? []), e.line]);
  for (const [key, at] of lines) {
    if (!known.has(key)) {
      const near = nearest(key, keys);
      warnings.push(`${file}:${at[0]}: unknown key ${key}${near ? ` (did you mean ${near}?)` : ''}; it is ignored.`);
    }
    if (at.length > 1) warnings.push(`${file}: ${key} is given ${at.length} times (lines ${at.join(', ')}); the last one (line ${at.at(-1)}) wins, as in a shell. Delete the others.`);
  }
  return warnings;
}

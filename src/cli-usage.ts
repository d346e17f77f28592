import type { Argv } from 'yargs';
import { UserError } from './core/errors.js';
import { keysOfWord, missingValues, needsValue, spellings } from './core/flag-value.js';
import { nearest } from './core/suggest.js';

/**
 * Usage checks yargs does not make the way an operator needs them, run before its own
 * validation (so that `--conifg X` is named as the typo it is, not as a missing
 * --config): unknown flags with the nearest known one, and a flag that takes a value
 * given none (`update --config` would otherwise read the current directory).
 */
export function checkUsage(argv: Record<string, unknown>, y: Argv, raw: readonly string[]): void {
  const command = String((argv._ as unknown[] | undefined)?.[0] ?? '');
  // launch collects unknown and empty flags itself, with every other problem at once.
  if (command === 'launch') return;
  const options = (y as unknown as { getOptions(): YargsOptions }).getOptions();
  const known = new Set<string>(['_', '$0']);
  for (const key of Object.keys(options.key)) {
    known.add(key);
    known.add(camel(key));
    for (const alias of options.alias[key] ?? []) known.add(alias);
  }
  for (const [alias, keys] of Object.entries(options.alias)) {
    known.add(alias);
    for (const k of keys) known.add(k);
  }
  const flags = Object.keys(options.key).filter((k) => !['help', 'version'].includes(k));
  const problems: string[] = [];
  const keys = Object.keys(argv);
  // `--to -x`: -x is reported as the value it may have been (below), not as an unknown flag.
  const values = new Set(options.string.flatMap((k) => missingValues(raw, [k, ...(options.alias[k] ?? [])]).flatMap((m) => (m.next ? keysOfWord(m.next) : []))));
  for (const key of keys) {
    if (known.has(key) || values.has(key)) continue;
    // yargs adds the camelCase twin of an unknown --foo-bar: name the flag once.
    if (key !== key.toLowerCase() && keys.includes(key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))) continue;
    const dash = key.length === 1 ? '-' : '--';
    const near = nearest(key, flags);
    problems.push(`${dash}${key}: unknown flag${near ? ` (did you mean --${near}?)` : ''}.`);
  }
  for (const key of options.string) {
    // From the words typed: yargs gives '' for `--config` at the end, and normalises it to '.'.
    const names = [key, ...(options.alias[key] ?? [])];
    const missing = missingValues(raw, names);
    const explicitEmpty = spellings(names).some((s) => raw.includes(`${s}=`));
    if (missing.length > 0 || explicitEmpty || argv[key] === '') problems.push(needsValue(key, example(key), missing[0]?.next, known));
  }
  if (problems.length > 0) {
    throw new UserError(problems.length === 1 ? problems[0]! : `invalid usage:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      hint: command ? `Run alphacore ${command} --help for its flags.` : 'Run alphacore --help for the commands and their flags.',
      problems,
    });
  }
}

/** checkUsage as a yargs middleware (yargs passes itself second; its types do not say so). */
export function usageMiddleware(raw: readonly string[]): (argv: Record<string, unknown>) => void {
  return ((argv: Record<string, unknown>, y: Argv) => checkUsage(argv, y, raw)) as (argv: Record<string, unknown>) => void;
}

interface YargsOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  string: string[];
}

const camel = (key: string) => key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

function example(key: string): string {
  if (key === 'config') return '~/.config/alphacore/autoupdate/alphacore.env';
  if (key === 'namespace') return 'alphacore';
  if (key === 'interval') return '2m';
  if (key === 'to') return '<commit sha of REMOTE/BRANCH>';
  if (key === 'lines') return '100';
  if (key === 'remote') return 'origin';
  if (key === 'branch') return 'release';
  return key.endsWith('dir') ? 'PATH' : key.toUpperCase().replace(/-/g, '_');
}

/**
 * A reader that goes away (`alphacore status | head -1`) is not an error: the rest of
 * the output has nowhere to go, and the command finishes as it would have. Without a
 * listener, Node turns EPIPE into an uncaught exception with a stack trace.
 */
export function tolerateClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED' || error.code === 'EBADF') return;
      throw error;
    });
  }
}

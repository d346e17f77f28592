/**
 * A flag that takes a value, given none, as the words typed show it: yargs gives '' both
 * for `--netuid` at the end and for `--wallet-name -x` (it reads `-x` as a flag of its
 * own), so only the raw words tell the two apart. Shared by launch (which reports every
 * problem at once) and the usage check of the other commands.
 */

/** `--flag` / `-f` spellings of a flag and its aliases. */
export function spellings(names: readonly string[]): string[] {
  return names.map((k) => (k.length === 1 ? `-${k}` : `--${k}`));
}

/**
 * Where one of `names` was typed with no value: `{ next }` is the word that followed
 * it (undefined at the end). `--flag=` is an explicit empty value, not counted here.
 */
export function missingValues(raw: readonly string[], names: readonly string[]): { next?: string }[] {
  const forms = new Set(spellings(names));
  const found: { next?: string }[] = [];
  for (let i = 0; i < raw.length; i += 1) {
    if (raw[i] === '--') break;
    if (!forms.has(raw[i]!)) continue;
    const next = raw[i + 1];
    // yargs takes a negative number as the value (`--netuid -5`); any other '-' word is a flag.
    if (next === undefined || next === '--' || (next.startsWith('-') && !/^-\d/.test(next))) found.push({ next });
  }
  return found;
}

/**
 * The message for a flag given no value. When the next word was read as a flag although
 * it may have been meant as the value (it is not one of `knownFlags`), say how to give
 * a value that starts with '-'.
 */
export function needsValue(flag: string, example: string, next?: string, knownFlags?: ReadonlySet<string>): string {
  const base = `--${flag} needs a value (e.g. --${flag} ${example})`;
  if (next === undefined || next === '--' || knownFlags?.has(flagName(next))) return `${base}.`;
  return `${base}; the next word ${next} starts with '-', so it was read as a flag: give a value that starts with '-' as --${flag}=${next}.`;
}

/** The option name a word spells (`--no-foo=1` -> foo, `-x` -> x); '' for a non-flag word. */
export function flagName(word: string): string {
  if (!word.startsWith('-')) return '';
  const name = word.replace(/^--?/, '').split('=')[0]!;
  return word.startsWith('--') ? name.replace(/^no-/, '') : name;
}

/** The keys yargs sets for a flag-like word (`-abc` sets a, b and c), to drop them from "unknown flag" reports. */
export function keysOfWord(word: string): string[] {
  if (word.startsWith('--')) {
    const name = flagName(word);
    return [name, name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
  }
  return word.startsWith('-') ? [...word.slice(1).split('=')[0]!] : [];
}

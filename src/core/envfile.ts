import { parse as shellParse } from 'shell-quote';
import { UserError } from './errors.js';
import { isSecretKey } from './secrets.js';

/**
 * The shell-subset of KEY=VALUE files. Files are parsed, never executed: anything a
 * shell would not read literally is refused with the file and line, so that no value
 * can make the tool (or a shell that sources the file) run a command.
 */

export interface EnvEntry {
  key: string;
  value: string;
  line: number;
}

export interface ParseOptions {
  /** Shown in messages; the file path. */
  source: string;
  /** Expands a leading `~` the way a shell does in an assignment. */
  home?: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHELL_SPECIAL = new Set([';', '&', '|', '<', '>', '(', ')', '`', '$']);

class LineError extends Error {}
/** A quote left open: the value may go on over the next lines, as in a shell. */
class OpenQuote extends LineError {}

/** Reads one assignment value (everything after `=`), returning its literal meaning. */
function readValue(raw: string, home: string | undefined): string {
  let out = '';
  let i = 0;
  let sawQuote = false;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === "'") {
      const end = raw.indexOf("'", i + 1);
      if (end < 0) throw new OpenQuote('unbalanced single quote');
      out += raw.slice(i + 1, end);
      sawQuote = true;
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      let closed = false;
      while (i < raw.length) {
        const d = raw[i]!;
        if (d === '"') {
          closed = true;
          i += 1;
          break;
        }
        if (d === '\\') {
          const next = raw[i + 1];
          if (next === undefined) break;
          // Inside double quotes a backslash escapes only these; otherwise it is literal.
          if (next === '"' || next === '\\' || next === '$' || next === '`') {
            out += next;
          } else {
            out += d + next;
          }
          i += 2;
          continue;
        }
        if (d === '$') throw new LineError('uses `$` expansion inside double quotes (write \\$ for a literal dollar, or use single quotes)');
        if (d === '`') throw new LineError('uses backtick command substitution (use single quotes for a literal backtick)');
        out += d;
        i += 1;
      }
      if (!closed) throw new OpenQuote('unbalanced double quote');
      sawQuote = true;
    } else if (c === '\\') {
      const next = raw[i + 1];
      if (next === undefined) throw new LineError('ends with a backslash (line continuations are not supported)');
      out += next;
      i += 2;
    } else if (c === ' ' || c === '\t') {
      const rest = raw.slice(i).trimStart();
      if (rest === '' || rest.startsWith('#')) break;
      throw new LineError('has an unquoted space: a shell would run the rest as a command (quote the value)');
    } else if (c === '$') {
      throw new LineError(raw[i + 1] === '(' ? 'uses $(...) command substitution' : 'uses `$` expansion (write the value itself, or single-quote it)');
    } else if (c === '`') {
      throw new LineError('uses backtick command substitution');
    } else if (SHELL_SPECIAL.has(c)) {
      throw new LineError(`has an unquoted \`${c}\`, which a shell would not read literally (quote the value)`);
    } else {
      if (c === '~' && i === 0 && !sawQuote && home !== undefined) {
        const next = raw[1];
        if (next === undefined || next === '/' || next === ' ' || next === '\t' || next === ':') {
          out += home;
          i += 1;
          continue;
        }
        throw new LineError('uses `~user` expansion (write the full path)');
      }
      out += c;
      i += 1;
    }
  }
  return out;
}

/**
 * Reads every line it can: the assignments, and one problem per bad line (file and
 * line). Callers that must still say something about the good lines (unknown keys,
 * status) use this; parseEnvFile throws on the first bad file.
 */
export function scanEnvFile(text: string, options: ParseOptions): { entries: EnvEntry[]; problems: string[] } {
  const entries: EnvEntry[] = [];
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const rawLine = lines[index]!;
    const lineNo = index + 1;
    const nul = rawLine.indexOf('\0');
    if (nul >= 0) {
      // A shell cannot hold a NUL in a variable (bash drops it): the value would not mean what it says.
      const key = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/.exec(rawLine)?.[1];
      problems.push(`${options.source}:${lineNo}: ${key ? `${key} contains` : 'the line contains'} a NUL byte (\\0) at column ${nul + 1}; remove it (a shell cannot hold one).`);
      continue;
    }
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (/^export[ \t]/.test(line)) line = line.slice(7).trimStart();
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : '';
    if (!KEY.test(key)) {
      // Never echo what may be a secret (`NOTIFY_WEBHOOK_URL = https://...` is not an assignment).
      const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(rawLine)?.[1];
      const shown = name && isSecretKey(name) ? `${name}=*** (value hidden)` : JSON.stringify(rawLine.slice(0, 80));
      const why = name && /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s+=|=\s/.test(rawLine) ? ' (no spaces around = in a shell assignment)' : '';
      problems.push(`${options.source}:${lineNo}: not a KEY=VALUE assignment${why}: ${shown}`);
      continue;
    }
    try {
      entries.push({ key, value: readValue(line.slice(eq + 1), options.home), line: lineNo });
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      // A quoted value may span lines, as in a shell: the bash launcher writes
      // VALIDATOR_EXTRA_ARGS="${ARGS[*]}" under IFS=$'\n\t', one word per line.
      const joined = error instanceof OpenQuote ? multiLine(lines, index, line.slice(eq + 1), options.home) : undefined;
      if (joined) {
        entries.push({ key, value: joined.value, line: lineNo });
        index = joined.last;
      } else problems.push(`${options.source}:${lineNo}: ${key} ${error.message}`);
    }
  }
  return { entries, problems };
}

export const PARSE_HINT = 'The file is read as plain KEY=VALUE lines and never executed; fix the lines above.';

/** Parses a whole file; every bad line is reported at once (exit 2). */
export function parseEnvFile(text: string, options: ParseOptions): EnvEntry[] {
  const { entries, problems } = scanEnvFile(text, options);
  if (problems.length > 0) {
    throw new UserError(`Cannot read ${options.source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { hint: PARSE_HINT, problems });
  }
  return entries;
}

/** The value whose quote opened on lines[first] and closes on a later line (undefined: it never does). */
function multiLine(lines: readonly string[], first: number, start: string, home: string | undefined): { value: string; last: number } | undefined {
  let raw = start;
  for (let i = first + 1; i < lines.length; i += 1) {
    raw += `\n${lines[i]!}`;
    try {
      return { value: readValue(raw, home), last: i };
    } catch (error) {
      if (!(error instanceof OpenQuote)) return undefined;
    }
  }
  return undefined;
}

/** Quotes a value so that a POSIX shell reads back exactly the same string. */
export function shellQuote(value: string): string {
  if (value.includes('\n') || value.includes('\r') || value.includes('\0')) {
    throw new UserError(`Value ${JSON.stringify(value.slice(0, 40))} contains a newline or NUL, which a KEY=VALUE file cannot hold.`);
  }
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Renders KEY=VALUE lines; every value round-trips through parseEnvFile and through `source`. */
export function serializeEnvFile(values: Iterable<[string, string]>, header?: string): string {
  const lines: string[] = [];
  if (header) for (const h of header.split('\n')) lines.push(`# ${h}`);
  for (const [key, value] of values) {
    if (!KEY.test(key)) throw new UserError(`Invalid key name ${JSON.stringify(key)}.`);
    lines.push(`${key}=${shellQuote(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Renders a value as the bash launcher does, KEY="value", escaping what double quotes need. */
export function doubleQuote(value: string): string {
  if (value.includes('\n') || value.includes('\r') || value.includes('\0')) {
    throw new UserError(`Value ${JSON.stringify(value.slice(0, 40))} contains a newline or NUL, which a KEY=VALUE file cannot hold.`);
  }
  return `"${value.replace(/(["\\$`])/g, '\\$1')}"`;
}

/**
 * Splits `*_EXTRA_ARGS` into words as a POSIX shell splits an unquoted word list with
 * the default IFS, quotes respected. Expansions, globs and operators are refused.
 */
export function splitWords(value: string, what: string): string[] {
  let inSingle = false;
  for (const c of value) {
    if (c === "'") inSingle = !inSingle;
    else if (c === '`' && !inSingle) throw new UserError(`${what} uses backtick command substitution; write the arguments themselves.`);
  }
  let words: ReturnType<typeof shellParse>;
  try {
    words = shellParse(value, (name: string) => {
      throw new UserError(
        name === '' ? `${what} uses $(...) command substitution; write the arguments themselves.` : `${what} uses $${name} expansion; write the value itself.`,
      );
    });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${what} cannot be split into words: ${(error as Error).message}`);
  }
  return words.map((word) => {
    if (typeof word === 'string') return word;
    if ('comment' in word) throw new UserError(`${what} contains a \`#\` comment; quote it if it is part of an argument.`);
    if ('op' in word && word.op === 'glob') throw new UserError(`${what} contains the glob ${JSON.stringify(word.pattern)}; quote it.`);
    throw new UserError(`${what} contains the shell operator ${JSON.stringify((word as { op: string }).op)}; quote it if it is part of an argument.`);
  });
}

/** Quotes words so that splitWords (and a shell) gives them back unchanged. */
export function joinWords(words: readonly string[]): string {
  return words
    .map((w) => (w !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}

import { flagName, keysOfWord, missingValues, needsValue } from '../../core/flag-value.js';

/**
 * What only the words typed show about launch's flags, found while the parsed flags are
 * mapped (options.ts) and reported by validation together with every other problem.
 */
export interface LaunchUsage {
  /** Flags (kebab-case) typed with no value: reported once here, never again as "required". */
  valueless: string[];
  /** One message per flag typed with no value. */
  problems: string[];
  /** A single-value flag given more than once with different values (launch refuses it; the last would win silently). */
  repeated: string[];
}

type Spec = Readonly<Record<string, { type: string; alias?: string }>>;

/** Names that are files and the PM2 process name: `--wallet-name -x` is checked as the value -x it surely meant. */
const NAME_FLAGS = new Set(['wallet-name', 'hotkey', 'network', 'process-name']);

const EXAMPLES: Record<string, string> = {
  'wallet-name': 'my-coldkey',
  hotkey: 'my-hotkey',
  netuid: '66',
  network: 'finney',
  'chain-endpoint': 'wss://finney.opentensor.io:443',
  profile: 'testing',
  'validator-sa': 'name@project.iam.gserviceaccount.com',
  'gcp-creds-file': '~/sa.json',
  'validation-api-endpoint': 'http://127.0.0.1:8888',
  'pm2-namespace': 'alphacore',
  'http-port': '8000',
  'autoupdate-interval': '2m',
  'prompt-postprocess': 'none',
  'tick-seconds': '1200',
  'epoch-slots': '4',
  'epoch-slot-index': '0',
  'weights-min-tasks-before-emit': '10',
  'signature-policy': 'tip',
  'restart-policy': 'coalesce',
  entrypoint: 'scripts/start_validator.py',
};

const example = (flag: string) => EXAMPLES[flag] ?? (/key/.test(flag) ? 'KEY' : 'PATH');

export interface TypedWords {
  usage: LaunchUsage;
  /** Values taken from the words (a name flag followed by a '-' word), by kebab-case flag. */
  values: Map<string, string>;
  /** Keys yargs set for words that were values, not flags: not "unknown flags". */
  notFlags: Set<string>;
}

/** `parsed`: yargs' output (a repeated flag is an array); `raw`: the words typed after `launch`. */
export function typedWords(spec: Spec, parsed: Record<string, unknown>, raw: readonly string[] | undefined): TypedWords {
  const usage: LaunchUsage = { valueless: [], problems: [], repeated: [] };
  const values = new Map<string, string>();
  const notFlags = new Set<string>();
  const known = new Set<string>(['help', 'version', 'h', 'v']);
  for (const [name, s] of Object.entries(spec)) {
    known.add(name);
    if (s.alias) known.add(s.alias);
  }
  for (const [flag, s] of Object.entries(spec)) {
    if (s.type !== 'string') continue;
    const given = parsed[flag];
    if (Array.isArray(given) && new Set(given.map(String)).size > 1) {
      const count = given.length === 2 ? 'twice' : `${given.length} times`;
      const shown = /key/.test(flag) ? '' : ` (${given.map(String).join(', ')})`;
      usage.repeated.push(`--${flag} was given ${count}${shown}; give it once.`);
    }
    for (const { next } of raw ? missingValues(raw, [flag, ...(s.alias ? [s.alias] : [])]) : []) {
      const meantAsValue = next !== undefined && next !== '--' && !known.has(flagName(next));
      if (meantAsValue) for (const key of keysOfWord(next)) notFlags.add(key);
      if (meantAsValue && NAME_FLAGS.has(flag)) {
        values.set(flag, next);
        continue;
      }
      if (!usage.valueless.includes(flag)) usage.valueless.push(flag);
      usage.problems.push(needsValue(flag, example(flag), next, known));
    }
  }
  return { usage, values, notFlags };
}

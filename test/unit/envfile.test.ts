import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinWords, parseEnvFile, serializeEnvFile, splitWords, doubleQuote } from '../../src/core/envfile.js';
import { UserError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tmp.js';

const parse = (text: string) => Object.fromEntries(parseEnvFile(text, { source: 'cfg.env', home: '/home/op' }).map((e) => [e.key, e.value]));

function problemsOf(text: string): string[] {
  try {
    parseEnvFile(text, { source: 'cfg.env', home: '/home/op' });
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).problems;
  }
  throw new Error('expected a UserError');
}

/** What bash reads from a file it sources (the real consumer). */
function bashSource(text: string, keys: string[]): Record<string, string> {
  const file = path.join(tempDir(), 'sourced.env');
  fs.writeFileSync(file, text);
  const script = `set -e; source "$1"; ${keys.map((k) => `printf '%s\\0' "$${k}"`).join('; ')}`;
  const out = execFileSync('bash', ['-c', script, 'bash', file], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/home/op' } });
  const values = out.split('\0');
  return Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
}

/** How bash splits a word list written in a command line (quotes respected). */
function bashWords(list: string): string[] {
  const out = execFileSync('bash', ['-c', `eval "set -- $1"; [ $# -eq 0 ] || printf '%s\\0' "$@"`, 'x', list], { encoding: 'utf8' });
  return out === '' ? [] : out.split('\0').slice(0, -1);
}

describe('parseEnvFile', () => {
  it('reads blank lines, comments, export, bare, double and single quoted values', () => {
    expect(
      parse(['# comment', '', 'export NETWORK=finney', 'WALLET_NAME="my wallet"', "HOTKEY='it''s'", 'NETUID=66 # trailing comment', '  PAD = x'].slice(0, 6).join('\n')),
    ).toEqual({ NETWORK: 'finney', WALLET_NAME: 'my wallet', HOTKEY: 'its', NETUID: '66' });
  });

  it('keeps backslash escapes in double quotes as a shell does', () => {
    expect(parse('A="a\\"b\\\\c\\$d\\n"')).toEqual({ A: 'a"b\\c$d\\n' });
  });

  it('expands a leading ~ as a shell assignment does', () => {
    expect(parse('WALLET_PATH=~/.bittensor/wallets\nB="~/x"')).toEqual({ WALLET_PATH: '/home/op/.bittensor/wallets', B: '~/x' });
  });

  it.each([
    ['A=$(id)', '$(...)'],
    ['A=`id`', 'backtick'],
    ['A="$(id)"', '`$` expansion'],
    ['A="`id`"', 'backtick'],
    ['A=$HOME/x', '`$` expansion'],
    ['A="${HOME}"', '`$` expansion'],
    ['A="unbalanced', 'unbalanced double quote'],
    ["A='unbalanced", 'unbalanced single quote'],
    ['A=two words', 'unquoted space'],
    ['A=x;rm -rf /', 'unquoted `;`'],
    ['A=x|y', 'unquoted `|`'],
    ['rm -rf /', 'not a KEY=VALUE assignment'],
    ['1A=x', 'not a KEY=VALUE assignment'],
    ['A=~root/x', '~user'],
  ])('refuses %s naming the file and line', (line, why) => {
    const problems = problemsOf(`OK=1\n${line}\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('cfg.env:2:');
    expect(problems[0]).toContain(why);
  });

  it('reports every bad line at once', () => {
    expect(problemsOf('A=$(x)\nB=ok\nC=`y`\nnot an assignment\n')).toHaveLength(3);
  });

  it('never executes anything it reads', () => {
    // If any of these ran, the marker file would exist.
    expect(() => parse('A=$(touch /tmp/alphacore-pwned)\nB=`touch /tmp/alphacore-pwned`')).toThrow(UserError);
    expect(fs.existsSync('/tmp/alphacore-pwned')).toBe(false);
  });
});

describe('serializeEnvFile', () => {
  const hostile: Record<string, string> = {
    PLAIN: 'finney',
    SPACES: 'my wallet name',
    DOLLAR: '$HOME and $(id) and `id`',
    SINGLE: "it's 'quoted'",
    DOUBLE: 'say "hi" \\ there',
    PERCENT: '100% sure',
    GLOB: '*.env ?',
    HASH: '#not-a-comment',
    TILDE: '~/x',
    EMPTY: '',
    SEMI: 'a; rm -rf /',
  };

  it('round-trips hostile values through our parser', () => {
    expect(parse(serializeEnvFile(Object.entries(hostile)))).toEqual(hostile);
  });

  it('means the same to a real bash that sources it', () => {
    expect(bashSource(serializeEnvFile(Object.entries(hostile)), Object.keys(hostile))).toEqual(hostile);
  });

  it('writes the bash launcher style KEY="value" that bash and our parser read alike', () => {
    const text = Object.entries(hostile)
      .map(([k, v]) => `${k}=${doubleQuote(v)}`)
      .join('\n');
    expect(bashSource(text, Object.keys(hostile))).toEqual(hostile);
    expect(parse(text)).toEqual(hostile);
  });

  it('refuses newlines in values', () => {
    expect(() => serializeEnvFile([['A', 'line1\nline2']])).toThrow(/newline/);
    expect(() => doubleQuote('a\rb')).toThrow(/newline/);
  });

  it('writes ordinary values bare', () => {
    expect(serializeEnvFile([['NETWORK', 'finney'], ['REPO_DIR', '/home/op/AlphaCore']])).toBe('NETWORK=finney\nREPO_DIR=/home/op/AlphaCore\n');
  });
});

describe('splitWords', () => {
  it.each([
    '--a 1 --b 2',
    '  --a   "two words"  \t--c ',
    "--name 'it'\\''s' --x=\"a b\"",
    '--path a\\ b',
    '',
    '--validator.epoch_slots 4 --validator.epoch_slot_index 1',
  ])('splits %j as a shell does', (list) => {
    expect(splitWords(list, 'VALIDATOR_EXTRA_ARGS')).toEqual(bashWords(list));
  });

  it.each([
    ['--a $(id)', '$(...)'],
    ['--a `id`', 'backtick'],
    ['--a $HOME', '$HOME'],
    ['--a x; rm -rf /', 'operator'],
    ['--a *.py', 'glob'],
    ['--a x # comment', 'comment'],
  ])('refuses %j', (list, why) => {
    expect(() => splitWords(list, 'VALIDATOR_EXTRA_ARGS')).toThrow(why);
  });

  it('joinWords is the inverse of splitWords', () => {
    const words = ['--a', 'two words', "it's", '$HOME', '', '100%', 'x"y'];
    expect(splitWords(joinWords(words), 'X')).toEqual(words);
    expect(bashWords(joinWords(words))).toEqual(words);
  });
});

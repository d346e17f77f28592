import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/core/config.js';
import { keyWarnings } from '../../src/core/config-source.js';
import { editDistance, nearest } from '../../src/core/suggest.js';

describe('did you mean', () => {
  it('a swapped pair of letters is one edit', () => {
    expect(editDistance('NETWROK', 'NETWORK')).toBe(1);
    expect(editDistance('conifg', 'config')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('names the nearest candidate only when it is a slip of the keyboard', () => {
    expect(nearest('conifg', ['config', 'namespace', 'json'])).toBe('config');
    expect(nearest('NETWROK', ['NETWORK', 'NETUID'])).toBe('NETWORK');
    expect(nearest('wallet_name', ['WALLET_NAME', 'WALLET_HOTKEY'])).toBe('WALLET_NAME');
    expect(nearest('FOO', ['NETWORK', 'NETUID'])).toBeUndefined();
  });
});

describe('config warnings', () => {
  it('unknown keys with the nearest known key, and keys given twice with their lines', () => {
    const entries = [
      { key: 'NETWROK', value: 'test', line: 1 },
      { key: 'NETUID', value: '1', line: 2 },
      { key: 'MY_OWN_THING', value: 'x', line: 3 },
      { key: 'NETUID', value: '2', line: 4 },
    ];
    expect(keyWarnings(entries, '/c.env', CONFIG_KEYS)).toEqual([
      '/c.env:1: unknown key NETWROK (did you mean NETWORK?); it is ignored.',
      '/c.env: NETUID is given 2 times (lines 2, 4); the last one (line 4) wins, as in a shell. Delete the others.',
      '/c.env:3: unknown key MY_OWN_THING; it is ignored.',
    ]);
  });
});

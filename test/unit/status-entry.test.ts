import { describe, expect, it } from 'vitest';
import { plainStatusFlags } from '../../src/status-entry.js';

// bin/alphacore.js sends `status ...` to the bundled status entry first; only the command
// lines yargs would read the same way may be answered there, the rest goes to the CLI.
describe('plain status command lines (answered without yargs)', () => {
  it('takes --json, --namespace NS and --config FILE in any order', () => {
    expect(plainStatusFlags([])).toEqual({ json: false });
    expect(plainStatusFlags(['--json'])).toEqual({ json: true });
    expect(plainStatusFlags(['--namespace', 'testnet', '--json'])).toEqual({ namespace: 'testnet', json: true });
    expect(plainStatusFlags(['--json', '--config', 'a.env'])).toEqual({ config: 'a.env', json: true });
  });

  it('hands everything else to the full CLI, which words the usage errors', () => {
    for (const argv of [
      ['--help'],
      ['-h'],
      ['--config'],
      ['--config', ''],
      ['--config', '--json'],
      ['--config=a.env'],
      ['--conifg', 'a.env'],
      ['--namespace', 'a', '--config', 'b.env'],
      ['--json', '--json'],
      ['--namespace', 'a', '--namespace', 'b'],
      ['--no-json'],
      ['extra'],
    ]) {
      expect(plainStatusFlags(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { makePaths } from '../../src/core/context.js';
import { parseEnvFile } from '../../src/core/envfile.js';
import { UserError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tmp.js';

// The real launch_validator.sh runs under IFS=$'\n\t' and writes
// printf 'VALIDATOR_EXTRA_ARGS="%s"\n' "${VALIDATOR_EXTRA_ARGS[*]}": one word per line.
// Every bash-era config has it (timed mode is the default); a shell reads it fine.
const BASH_LAUNCHER_SNIPPET = `set -euo pipefail
IFS=$'\\n\\t'
VALIDATOR_EXTRA_ARGS=(--timed --tick-seconds 1200 --epoch-slots 4)
{
  echo "NETWORK=test"
  echo "PM2_NAMESPACE=alphacore"
  echo "WALLET_NAME=cold"
  echo "WALLET_HOTKEY=hot"
  echo "NETUID=7"
  echo "GCP_CREDS_FILE=$CREDS"
  printf 'VALIDATOR_EXTRA_ARGS="%s"\\n' "\${VALIDATOR_EXTRA_ARGS[*]}"
  echo 'VALIDATOR_ROUND_LOCKFILE=/tmp/alphacore-validator-round.lock'
} >"$OUT"`;

describe('configs written by the bash launcher', () => {
  it('a multi-line quoted VALIDATOR_EXTRA_ARGS reads as a shell reads it, and splits into the same words', () => {
    const root = tempDir('alphacore-bash-cfg-');
    const creds = path.join(root, 'sa.json');
    fs.writeFileSync(creds, '{"client_email":"a@b.iam.gserviceaccount.com"}');
    fs.mkdirSync(path.join(root, '.git'));
    const file = path.join(root, 'alphacore.env');
    execFileSync('bash', ['-c', BASH_LAUNCHER_SNIPPET], { env: { PATH: process.env.PATH, OUT: file, CREDS: creds } });
    expect(fs.readFileSync(file, 'utf8')).toContain('VALIDATOR_EXTRA_ARGS="--timed\n--tick-seconds\n1200\n--epoch-slots\n4"\n');
    const entries = parseEnvFile(fs.readFileSync(file, 'utf8'), { source: file });
    const shell = execFileSync('bash', ['-c', 'set -a; source "$1"; printf "%s" "$VALIDATOR_EXTRA_ARGS"', '_', file], { encoding: 'utf8' });
    expect(entries.find((e) => e.key === 'VALIDATOR_EXTRA_ARGS')).toEqual({ key: 'VALIDATOR_EXTRA_ARGS', value: shell, line: 7 });
    expect(entries.at(-1)).toMatchObject({ key: 'VALIDATOR_ROUND_LOCKFILE', line: 12 });
    // A bash-era config has no REPO_DIR (the bash updater runs from the clone): given as --repo-dir.
    const config = loadConfig(file, {}, { repoDir: root }, makePaths({ HOME: root }));
    expect(config.validatorExtraArgs).toEqual(['--timed', '--tick-seconds', '1200', '--epoch-slots', '4']);
  });

  it('a quote that never closes is still an error naming the line', () => {
    expect(() => parseEnvFile('A=1\nB="open\nC=2\n', { source: 'cfg' })).toThrow(UserError);
    expect(() => parseEnvFile('A=1\nB="open\nC=2\n', { source: 'cfg' })).toThrow(/cfg:2: B unbalanced double quote/);
    // What is inside still obeys the rules: no expansion hidden on a later line.
    expect(() => parseEnvFile('B="one\n$(id)"\n', { source: 'cfg' })).toThrow(/cfg:1: B unbalanced double quote|cfg:1: B uses/);
  });
});

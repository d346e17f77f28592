import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfig, type ConfigInput } from '../../src/core/config.js';
import { makePaths } from '../../src/core/context.js';
import { UserError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tmp.js';

/** A config in a temp dir with a real clone folder and creds file, so only the lines under test are wrong. */
function world(lines: string[], env: Record<string, string> = {}) {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'repo', '.git'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'creds.json'), '{}');
  const file = path.join(dir, 'alphacore.env');
  fs.writeFileSync(file, `${lines.join('\n').replaceAll('@DIR@', dir)}\n`);
  const fullEnv = { HOME: path.join(dir, 'home'), ...env };
  const input: ConfigInput = { file, env: fullEnv, paths: makePaths(fullEnv) };
  return { dir, file, input };
}

const VALID = ['NETWORK=finney', 'WALLET_NAME=wallet', 'WALLET_HOTKEY=hot', 'NETUID=66', 'GCP_CREDS_FILE=@DIR@/creds.json', 'REPO_DIR=@DIR@/repo'];

function strictError(input: ConfigInput): UserError {
  try {
    readConfig(input, 'strict');
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

describe('readConfig: strict (update, launch, autoupdate enable)', () => {
  it('returns typed values: durations in ms, sizes and ports as numbers, enums', () => {
    const { input } = world([...VALID, 'HEALTH_STABLE=1m30s', 'LOG_MAX_BYTES=2M', 'DEPS_REFRESH=never', `VALIDATOR_EXTRA_ARGS='--a "b c"'`]);
    expect(readConfig(input, 'strict')).toMatchObject({ healthStableMs: 90_000, healthTimeoutMs: 120_000, logMaxBytes: 2 * 1024 ** 2, depsRefresh: 'never', sandboxSetup: 'auto', validatorExtraArgs: ['--a', 'b c'] });
  });

  it('a bad duration is named by file, line and key; every problem comes in one UserError', () => {
    const { input, file } = world([...VALID, 'HEALTH_STABLE=forever', 'NETUID=abc', 'SANDBOX_SETUP=maybe']);
    const error = strictError(input);
    expect(error.problems).toEqual([
      `${file}:8: NETUID=abc must be a subnet uid, an integer 0-65535.`,
      `${file}:7: HEALTH_STABLE=forever is not a time span; use systemd syntax such as 90s, 2m, 6h.`,
      `${file}:9: SANDBOX_SETUP=maybe must be auto, always or never.`,
    ]);
    expect(error.message).toContain(`Invalid auto-update config ${file}:`);
  });

  it('a value from the environment or a flag is named as such', () => {
    const { input } = world(VALID, { HEALTH_TIMEOUT: 'soon' });
    expect(strictError({ ...input, overrides: { branch: 'a..b' } }).problems).toEqual([
      '--branch: BRANCH=a..b is not a valid branch name.',
      'environment: HEALTH_TIMEOUT=soon is not a time span; use systemd syntax such as 90s, 2m, 6h.',
    ]);
  });

  it('an unknown key is warned about with the nearest known key; a duplicate key warns and the last one wins', () => {
    const { input, file } = world([...VALID, 'NETWROK=test', 'HEALTH_STABLE=5s', 'HEALTH_STABLE=7s']);
    const config = readConfig(input, 'strict');
    expect(config.healthStableMs).toBe(7_000);
    expect(config.unknownKeys).toEqual(['NETWROK']);
    expect(config.warnings).toEqual([
      `${file}:7: unknown key NETWROK (did you mean NETWORK?); it is ignored.`,
      `${file}: HEALTH_STABLE is given 2 times (lines 8, 9); the last one (line 9) wins, as in a shell. Delete the others.`,
    ]);
  });

  it('a line that does not parse stops the read before any value is judged; the warnings travel with it', () => {
    const { input, file } = world([...VALID, 'BRANCH=$(id)', 'NETWROK=x', 'HEALTH_STABLE=forever']);
    const error = strictError(input);
    expect(error.problems).toEqual([`${file}:7: BRANCH uses $(...) command substitution`]);
    expect(error.warnings).toEqual([expect.stringContaining('unknown key NETWROK (did you mean NETWORK?)')]);
  });

  it('precedence: defaults < file < environment < flags', () => {
    const { input } = world([...VALID, 'BRANCH=from-file', 'REMOTE=file-remote', 'HEALTH_STABLE=5s']);
    const config = readConfig({ ...input, env: { ...input.env, BRANCH: 'from-env', REMOTE: 'env-remote' }, overrides: { branch: 'from-flag' } }, 'strict');
    expect([config.branch, config.remote, config.healthStableMs, config.healthTimeoutMs]).toEqual(['from-flag', 'env-remote', 5_000, 120_000]);
  });

  it('a missing file is a UserError naming --config', () => {
    const { input, dir } = world(VALID);
    expect(() => readConfig({ ...input, file: path.join(dir, 'nope.env') }, 'strict')).toThrow(/--config: .*nope\.env does not exist/);
  });
});

describe('readConfig: salvage (status, metrics, logs, uninstall, the invalid-config record)', () => {
  it('never throws on bad content: typed values from the good lines, defaults for the bad ones, and the problems', () => {
    const { input, file } = world([...VALID, 'HEALTH_STABLE=forever', 'BRANCH=hotfix', 'LOG_MAX_BYTES=lots', 'METRICS_DIR=relative', 'PM2_NAMESPACE=ns1']);
    const reading = readConfig(input, 'salvage');
    expect(reading.found).toBe('read');
    expect(reading.config).toMatchObject({ namespace: 'ns1', branch: 'hotfix', healthStableMs: 20_000, logMaxBytes: 5 * 1024 ** 2, metricsDir: undefined, netuid: '66' });
    expect(reading.problems).toEqual([
      `${file}:10: METRICS_DIR=relative must be an absolute path (node_exporter's --collector.textfile.directory).`,
      `${file}:9: LOG_MAX_BYTES=lots must be a size of at least 1K (e.g. 5M).`,
      `${file}:7: HEALTH_STABLE=forever is not a time span; use systemd syntax such as 90s, 2m, 6h.`,
    ]);
    expect([...reading.invalid].sort()).toEqual(['HEALTH_STABLE', 'LOG_MAX_BYTES', 'METRICS_DIR']);
    expect(reading.keyProblems.get('HEALTH_STABLE')).toEqual([reading.problems[2]]);
  });

  it('lines that do not parse are the problems; the keys of the other lines still count', () => {
    const { input, file } = world([...VALID, 'NOTIFY_WEBHOOK_URL=https://hooks.example/x', 'BRANCH=$(id)', 'METRICS_DIR=/var/lib/textfile', 'PM2_NAMESPACE="open']);
    const reading = readConfig(input, 'salvage');
    expect(reading.problems).toEqual([`${file}:8: BRANCH uses $(...) command substitution`, `${file}:10: PM2_NAMESPACE unbalanced double quote`]);
    expect(reading.lineProblems).toEqual(reading.problems);
    expect(reading.config).toMatchObject({ notifyWebhookUrl: 'https://hooks.example/x', metricsDir: '/var/lib/textfile', namespace: 'alphacore' });
    expect(reading.given.has('BRANCH')).toBe(false);
    expect(reading.config.branch).toBe('release');
    expect(reading.config.secrets).toContain('https://hooks.example/x');
  });

  it('a wrong webhook URL is no webhook; a wrong namespace falls back to the default and is marked', () => {
    const { input } = world([...VALID, 'NOTIFY_WEBHOOK_URL=ftp://x', 'PM2_NAMESPACE=a/b']);
    const reading = readConfig(input, 'salvage');
    expect(reading.config.notifyWebhookUrl).toBeUndefined();
    expect(reading.config.namespace).toBe('alphacore');
    expect(reading.invalid.has('PM2_NAMESPACE')).toBe(true);
  });

  it('a missing file: no problems, the defaults and the environment', () => {
    const { input, dir } = world(VALID, { METRICS_DIR: '/srv/textfile' });
    const reading = readConfig({ ...input, file: path.join(dir, 'nope.env') }, 'salvage');
    expect(reading.found).toBe('missing');
    expect(reading.problems).toEqual([]);
    expect(reading.config).toMatchObject({ namespace: 'alphacore', branch: 'release', metricsDir: '/srv/textfile' });
  });

  it('an unreadable file (a directory) is one problem, not an exception', () => {
    const { input, dir } = world(VALID);
    const reading = readConfig({ ...input, file: dir }, 'salvage');
    expect(reading.found).toBe('unreadable');
    expect(reading.problems).toEqual([`cannot read ${dir} (EISDIR).`]);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { formatDuration, parseDurationMs } from '../../src/core/duration.js';
import { UserError } from '../../src/core/errors.js';
import { makePaths } from '../../src/core/context.js';
import { tempDir } from '../helpers/tmp.js';

function setup(lines: string[], env: Record<string, string> = {}) {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'repo', '.git'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'creds.json'), '{}');
  const file = path.join(dir, 'alphacore.env');
  fs.writeFileSync(file, lines.join('\n').replaceAll('@DIR@', dir));
  const fullEnv = { HOME: path.join(dir, 'home'), ...env };
  return { dir, file, load: () => loadConfig(file, fullEnv, {}, makePaths(fullEnv)) };
}

const VALID = ['NETWORK=finney', 'WALLET_NAME=wallet', 'WALLET_HOTKEY=hot', 'NETUID=66', 'GCP_CREDS_FILE=@DIR@/creds.json', 'REPO_DIR=@DIR@/repo'];

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).problems;
  }
  throw new Error('expected a UserError');
}

describe('loadConfig', () => {
  it('fills the defaults of DESIGN.md §3', () => {
    const { load, dir } = setup(VALID);
    const c = load();
    expect(c).toMatchObject({
      namespace: 'alphacore',
      remote: 'origin',
      branch: 'release',
      repoDir: path.join(dir, 'repo'),
      validatorProcessName: 'validator-hot-finney',
      validationProcessName: 'alphacore-validation-api',
      validationApiEndpoint: 'http://127.0.0.1:8888',
      roundLockfile: '/tmp/alphacore-validator-round.lock',
      roundLockMaxAgeMs: 6 * 3_600_000,
      healthTimeoutMs: 120_000,
      healthStableMs: 20_000,
      sandboxSetup: 'auto',
      depsRefresh: 'auto',
      validatorExtraArgs: [],
    });
    expect(c.lockfile).toBe(path.join(dir, 'home', '.local/state/alphacore/autoupdate/alphacore.lock'));
  });

  it('reports every missing or invalid key at once', () => {
    const { load } = setup(['NETWORK=mars', 'NETUID=abc', 'GCP_CREDS_FILE=/nope.json', 'HEALTH_TIMEOUT=soon', 'DEPS_REFRESH=sometimes', 'VALIDATION_API_ENDPOINT=ftp://x', 'VALIDATOR_EXTRA_ARGS="--a $(id)"'.replace('$', '\\$')]);
    const list = problems(load);
    expect(list.join('\n')).toMatch(/WALLET_NAME is required/);
    expect(list.join('\n')).toMatch(/WALLET_HOTKEY is required/);
    expect(list.join('\n')).toMatch(/NETWORK=mars is not one of/);
    expect(list.join('\n')).toMatch(/NETUID=abc must be a subnet uid, an integer 0-65535/);
    expect(list.join('\n')).toMatch(/GCP_CREDS_FILE=\/nope.json does not exist/);
    expect(list.join('\n')).toMatch(/REPO_DIR is required/);
    expect(list.join('\n')).toMatch(/HEALTH_TIMEOUT=soon is not a time span/);
    expect(list.join('\n')).toMatch(/DEPS_REFRESH=sometimes must be auto, always or never/);
    expect(list.join('\n')).toMatch(/VALIDATION_API_ENDPOINT=ftp:\/\/x must be an http/);
    expect(list.join('\n')).toMatch(/VALIDATOR_EXTRA_ARGS .* command substitution/);
    expect(list.length).toBe(10);
  });

  it('accepts GOOGLE_OAUTH_ACCESS_TOKEN instead of a creds file', () => {
    const { load } = setup(VALID.filter((l) => !l.startsWith('GCP')), { GOOGLE_OAUTH_ACCESS_TOKEN: 'tok-123456' });
    expect(load().gcpCredsFile).toBeUndefined();
  });

  it('environment beats the file; flags beat the environment', () => {
    const { file, dir } = setup([...VALID, 'BRANCH=release', 'REMOTE=origin']);
    const env = { HOME: dir, BRANCH: 'staging', REMOTE: 'upstream' };
    const c = loadConfig(file, env, { branch: 'hotfix' }, makePaths(env));
    expect(c.branch).toBe('hotfix');
    expect(c.remote).toBe('upstream');
  });

  it('splits the extra args into words and keeps secrets for redaction', () => {
    const { load } = setup([...VALID, `VALIDATOR_EXTRA_ARGS='--disable-llm --tick-seconds 60 --name "a b"'`, 'ALPHACORE_OPENAI_API_KEY=sk-secret-1']);
    const c = load();
    expect(c.validatorExtraArgs).toEqual(['--disable-llm', '--tick-seconds', '60', '--name', 'a b']);
    expect(c.secrets).toContain('sk-secret-1');
  });

  it('names a missing config file and what to pass', () => {
    const env = { HOME: '/nonexistent' };
    expect(() => loadConfig('/nonexistent/x.env', env, {}, makePaths(env))).toThrow(/--config: \/nonexistent\/x.env does not exist/);
  });
});

describe('durations (systemd time spans)', () => {
  it.each([
    ['90s', 90_000],
    ['2m', 120_000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['45', 45_000],
    ['500ms', 500],
  ])('%s = %d ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms));
  it.each(['', 'soon', '5 parsecs', '1h-3m', 'm5'])('rejects %j', (text) => expect(parseDurationMs(text)).toBeUndefined());
  it('formats', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_000)).toBe('1m30s');
  });
});

describe('loadConfig: the bash launcher\'s rules (issue 9) and warnings (issue 10)', () => {
  it('any NETWORK with a CHAIN_ENDPOINT; without one, the problem names CHAIN_ENDPOINT', () => {
    const base = VALID.filter((l) => !l.startsWith('NETWORK='));
    const ok = setup([...base, 'NETWORK=mars', 'CHAIN_ENDPOINT=wss://mars.example:443']).load();
    expect(ok).toMatchObject({ network: 'mars', validatorProcessName: 'validator-hot-mars' });
    expect(problems(setup([...base, 'NETWORK=mars']).load)).toContainEqual(expect.stringMatching(/alphacore\.env:6: NETWORK=mars is not one of local, test, finney, so CHAIN_ENDPOINT is required/));
  });

  it('names with spaces are fine; a slash, a leading dash or dot, a control character are not', () => {
    const base = VALID.filter((l) => !l.startsWith('WALLET_'));
    expect(setup([...base, "WALLET_NAME='my cold'", "WALLET_HOTKEY='hot key'"]).load()).toMatchObject({ walletName: 'my cold', walletHotkey: 'hot key', validatorProcessName: 'validator-hot key-finney' });
    const bad = setup([...base, 'WALLET_NAME=a/b', 'WALLET_HOTKEY=-h', 'VALIDATOR_PROCESS_NAME=.x']);
    expect(problems(bad.load)).toEqual(expect.arrayContaining([
      `${bad.file}:5: WALLET_NAME="a/b" contains '/', which would make it a path.`,
      `${bad.file}:6: WALLET_HOTKEY="-h" starts with '-', which a program would read as a flag.`,
      `${bad.file}:7: VALIDATOR_PROCESS_NAME=".x" starts with '.', which makes a hidden or relative path.`,
    ]));
  });

  it('VALIDATION_HTTP_PORT that disagrees with a local VALIDATION_API_ENDPOINT is warned about (the update could only fail its health check)', () => {
    const mismatch = setup([...VALID, 'VALIDATION_API_ENDPOINT=http://127.0.0.1:18711', 'VALIDATION_HTTP_PORT=8888']).load();
    expect(mismatch.warnings).toEqual([expect.stringContaining('VALIDATION_HTTP_PORT=8888 but VALIDATION_API_ENDPOINT=http://127.0.0.1:18711 is port 18711 of this machine')]);
    for (const agree of [
      ['VALIDATION_API_ENDPOINT=http://127.0.0.1:18711', 'VALIDATION_HTTP_PORT=18711'],
      ['VALIDATION_API_ENDPOINT=http://127.0.0.1:18711'],
      ['VALIDATION_API_ENDPOINT=https://127.0.0.1:443', 'VALIDATION_HTTP_PORT=8888'],
      ['VALIDATION_API_ENDPOINT=http://api.example:9000', 'VALIDATION_HTTP_PORT=8888'],
      ['VALIDATION_HTTP_PORT=8888'],
    ]) expect(setup([...VALID, ...agree]).load().warnings, agree.join(' ')).toEqual([]);
  });

  it('warnings travel with the errors, and in config.warnings when the config is good', () => {
    const good = setup([...VALID, 'NETWROK=finney', 'NETUID=67']).load();
    expect(good.netuid).toBe('67');
    expect(good.warnings).toEqual([expect.stringContaining('NETUID is given 2 times (lines 4, 8)'), expect.stringContaining('unknown key NETWROK (did you mean NETWORK?)')]);
    try {
      setup([...VALID, 'NETWROK=finney', 'NETUID=99999']).load();
      throw new Error('expected a UserError');
    } catch (error) {
      expect((error as UserError).warnings).toHaveLength(2);
      expect((error as UserError).message).toMatch(/NETUID=99999 must be a subnet uid, an integer 0-65535\.\nWarnings:\n {2}- .*NETUID is given 2 times[^\n]*\n {2}- .*unknown key NETWROK/);
    }
  });
});

describe('RESTART_POLICY and its spans (DESIGN.md §14)', () => {
  it('default prompt, 24h, 24h; coalesce with spans from the file or the environment', () => {
    expect(setup(VALID).load().restart).toEqual({ policy: 'prompt', minIntervalMs: 86_400_000, maxDelayMs: 86_400_000 });
    const c = setup([...VALID, 'RESTART_POLICY=coalesce', 'RESTART_MIN_INTERVAL=12h'], { RESTART_MAX_DELAY: '2d' }).load();
    expect(c.restart).toEqual({ policy: 'coalesce', minIntervalMs: 12 * 3_600_000, maxDelayMs: 2 * 86_400_000 });
  });

  it('bad values: every problem at once, each naming its key', () => {
    const { load } = setup([...VALID, 'RESTART_POLICY=sometimes', 'RESTART_MIN_INTERVAL=daily', 'RESTART_MAX_DELAY=-1h']);
    expect(problems(load)).toEqual([
      expect.stringMatching(/^RESTART_POLICY=sometimes must be prompt/),
      expect.stringMatching(/^RESTART_MIN_INTERVAL=daily is not a time span/),
      expect.stringMatching(/^RESTART_MAX_DELAY=-1h is not a time span/),
    ]);
  });
});

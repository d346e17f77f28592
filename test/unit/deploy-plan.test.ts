import { describe, expect, it } from 'vitest';
import { notificationBody } from '../../src/adapters/notify.js';
import { apiCommand, planDeploy, shouldRun } from '../../src/commands/update/deploy-plan.js';
import type { AutoupdateConfig } from '../../src/core/config.js';

function config(over: Partial<AutoupdateConfig> = {}, given: AutoupdateConfig['given'] = {}): AutoupdateConfig {
  return {
    file: '/c.env',
    given,
    namespace: 'alphacore',
    network: 'finney',
    walletName: 'w',
    walletHotkey: 'h',
    netuid: '66',
    gcpCredsFile: '/creds.json',
    repoDir: '/srv/AlphaCore',
    remote: 'origin',
    branch: 'release',
    validatorProcessName: 'validator-h-finney',
    validationProcessName: 'alphacore-validation-api',
    validationApiEndpoint: 'http://127.0.0.1:8888',
    roundLockfile: '/tmp/r.lock',
    lockfile: '/tmp/l.lock',
    validatorExtraArgs: [],
    validationApiExtraArgs: [],
    roundLockMaxAgeMs: 1,
    healthTimeoutMs: 1,
    healthStableMs: 1,
    maxDeferralMs: 1,
    sandboxSetup: 'auto',
    depsRefresh: 'auto',
    notifyWebhookUrl: undefined,
    logMaxBytes: 1024,
    unknownKeys: [],
    secrets: [],
    ...over,
  };
}

describe('which optional steps run', () => {
  it('auto runs a step only when one of its inputs changed', () => {
    expect(shouldRun('auto', ['src/a.py'], ['modules/requirements.txt'])).toBe(false);
    expect(shouldRun('auto', ['modules/requirements.txt'], ['modules/requirements.txt'])).toBe(true);
    expect(shouldRun('auto', ['modules/evaluation/validation/sandbox/Dockerfile'], ['modules/evaluation/validation/sandbox/'])).toBe(true);
    expect(shouldRun('auto', ['modules/evaluation/validation/other.py'], ['modules/evaluation/validation/sandbox/'])).toBe(false);
  });
  it('always and never override', () => {
    expect(shouldRun('always', [], ['x'])).toBe(true);
    expect(shouldRun('never', ['x'], ['x'])).toBe(false);
  });
  it('plans the API out when the validator runs with --disable-validation-api', () => {
    expect(planDeploy(config(), ['modules/requirements.txt'])).toEqual({ sandbox: false, deps: true, api: true });
    expect(planDeploy(config({ validatorExtraArgs: ['--disable-validation-api'] }), []).api).toBe(false);
  });
});

describe('relaunch command lines', () => {
  it('starts the API through the repo script with the config values and extra words', () => {
    expect(apiCommand(config({ validationApiExtraArgs: ['--workers', '2'] }, { validationHttpPort: '8888', validationProcessName: 'api' }))).toEqual({
      file: 'bash',
      args: [
        '/srv/AlphaCore/scripts/validator/process/launch_validation_api.sh', '--pm2-namespace', 'alphacore', '--gcp-creds-file', '/creds.json',
        '--process-name', 'api', '--port', '8888', '--workers', '2',
      ],
    });
  });
});

describe('the Validation API port (operator trial: an API on --port 18711 came back on 8888 after an update)', () => {
  const port = (endpoint: string, given: AutoupdateConfig['given'] = {}) => {
    const args = apiCommand(config({ validationApiEndpoint: endpoint }, given)).args;
    return args.includes('--port') ? args[args.indexOf('--port') + 1] : undefined;
  };
  it('is the endpoint\'s when the endpoint is plain http on this machine and the file names none', () => {
    expect(port('http://127.0.0.1:18711')).toBe('18711');
    expect(port('http://localhost:9000/')).toBe('9000');
    expect(port('http://0.0.0.0:9001')).toBe('9001');
  });
  it('is left to the script (8888) for the default endpoint, another host or https (a proxy in front)', () => {
    expect(port('http://127.0.0.1:8888')).toBeUndefined();
    expect(port('http://api.example:18711')).toBeUndefined();
    expect(port('https://127.0.0.1:18711')).toBeUndefined();
  });
  it('is VALIDATION_HTTP_PORT when the file names it', () => {
    expect(port('http://127.0.0.1:18711', { validationHttpPort: '18712' })).toBe('18712');
  });
});

describe('notification body', () => {
  it('has text and content for chat hooks and a structured part', () => {
    const body = JSON.parse(notificationBody({ namespace: 'alphacore', host: 'vm1', outcome: 'updated', from: 'a'.repeat(40), to: 'b'.repeat(40), summary: 'updated aaaaaaa -> bbbbbbb' }));
    expect(body).toEqual({
      text: '[alphacore vm1/alphacore] updated aaaaaaa -> bbbbbbb',
      content: '[alphacore vm1/alphacore] updated aaaaaaa -> bbbbbbb',
      alphacore: { namespace: 'alphacore', host: 'vm1', outcome: 'updated', reason: null, from: 'a'.repeat(40), to: 'b'.repeat(40) },
    });
  });
});

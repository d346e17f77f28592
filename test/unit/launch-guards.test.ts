import { describe, expect, it } from 'vitest';
import type { Pm2App, Pm2Process } from '../../src/adapters/pm2.js';
import { UserError } from '../../src/core/errors.js';
import { launchHealth, tailLines } from '../../src/domain/launch/health.js';
import { otherValidators } from '../../src/domain/launch/namespace-guard.js';

const app: Pm2App = { name: 'validator-hot-test', namespace: 'alphacore', script: '/r/scripts/validator/process/start_validator_pm2.sh', interpreter: '/bin/bash', cwd: '/r', env: {} };
const proc = (name: string, namespace: string, script: string): Pm2Process => ({ name, namespace, script, pmId: 1, status: 'online', pid: 2, restarts: 0 });

describe('launch guards (pure parts)', () => {
  it('HEALTH_STABLE / HEALTH_TIMEOUT: environment, else the existing config, else 20s / 120s; a bad value names its source', () => {
    const paths = { home: '/home/op', lock: (ns: string) => `/tmp/${ns}.lock` };
    const health = (env: Record<string, string>, text?: string) => launchHealth({ file: '/cfg/alphacore.env', env, paths, text: text ?? '' });
    expect(health({})).toEqual({ stableMs: 20_000, timeoutMs: 120_000 });
    expect(health({}, 'HEALTH_STABLE=5s\nHEALTH_TIMEOUT=1m\n')).toEqual({ stableMs: 5_000, timeoutMs: 60_000 });
    expect(health({ HEALTH_STABLE: '2s' }, 'HEALTH_STABLE=5s\n')).toEqual({ stableMs: 2_000, timeoutMs: 120_000 });
    // The rest of the config is launch's to rewrite: its problems do not stop it.
    expect(health({}, 'NETUID=abc\nBRANCH=a..b\n')).toEqual({ stableMs: 20_000, timeoutMs: 120_000 });
    expect(() => health({}, 'NETWORK=test\nHEALTH_TIMEOUT=soon\n')).toThrow(UserError);
    expect(() => health({}, 'NETWORK=test\nHEALTH_TIMEOUT=soon\n')).toThrow(/^\/cfg\/alphacore\.env:2: HEALTH_TIMEOUT=soon is not a time span.* Nothing was changed\.$/);
    expect(() => health({ HEALTH_STABLE: 'later' })).toThrow(/^environment: HEALTH_STABLE=later is not a time span/);
  });

  it('another validator is a process of the repo wrapper in the same namespace under another name', () => {
    const procs = [
      proc('validator-hot-test', 'alphacore', '/r/scripts/validator/process/start_validator_pm2.sh'),
      proc('alphacore-validation-api', 'alphacore', '/r/modules/evaluation/validation/sandbox/start_validation_api_pm2.sh'),
      proc('validator-other-test', 'alphacore', '/elsewhere/scripts/validator/process/start_validator_pm2.sh'),
      proc('validator-third-test', 'second', '/r/scripts/validator/process/start_validator_pm2.sh'),
      proc('web', 'alphacore', '/srv/web.js'),
    ];
    expect(otherValidators(procs, app).map((p) => p.name)).toEqual(['validator-other-test']);
  });

  it('tailLines: the last non-empty lines, or nothing for a missing file', () => {
    expect(tailLines(undefined, 3)).toBe('');
    expect(tailLines('/nonexistent/x.log', 3)).toBe('');
  });
});

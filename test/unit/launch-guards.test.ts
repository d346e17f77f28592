import { describe, expect, it } from 'vitest';
import type { Pm2App, Pm2Process } from '../../src/adapters/pm2.js';
import { UserError } from '../../src/core/errors.js';
import { launchHealth, tailLines } from '../../src/domain/launch/health.js';
import { otherValidators } from '../../src/domain/launch/namespace-guard.js';

const app: Pm2App = { name: 'validator-hot-test', namespace: 'alphacore', script: '/r/scripts/validator/process/start_validator_pm2.sh', interpreter: '/bin/bash', cwd: '/r', env: {} };
const proc = (name: string, namespace: string, script: string): Pm2Process => ({ name, namespace, script, pmId: 1, status: 'online', pid: 2, restarts: 0 });

describe('launch guards (pure parts)', () => {
  it('HEALTH_STABLE / HEALTH_TIMEOUT: environment, else the existing config, else 20s / 120s; a bad value names its source', () => {
    expect(launchHealth({}, [])).toEqual({ stableMs: 20_000, timeoutMs: 120_000 });
    expect(launchHealth({}, [['HEALTH_STABLE', '5s'], ['HEALTH_TIMEOUT', '1m']])).toEqual({ stableMs: 5_000, timeoutMs: 60_000 });
    expect(launchHealth({ HEALTH_STABLE: '2s' }, [['HEALTH_STABLE', '5s']])).toEqual({ stableMs: 2_000, timeoutMs: 120_000 });
    expect(() => launchHealth({}, [['HEALTH_TIMEOUT', 'soon']])).toThrow(UserError);
    expect(() => launchHealth({}, [['HEALTH_TIMEOUT', 'soon']])).toThrow(/HEALTH_TIMEOUT=soon \(from the auto-update config\)/);
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

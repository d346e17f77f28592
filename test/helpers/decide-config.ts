import type { AutoupdateConfig } from '../../src/core/config.js';

/**
 * The typed config decide reads, with the defaults a launched machine has: for unit
 * tests of the pure decision (a value, not a file; `overrides` for what a test varies).
 */
export function decideConfig(overrides: Record<string, unknown> = {}): AutoupdateConfig {
  return {
    file: '/c.env',
    given: {},
    namespace: 'alphacore',
    validatorProcessName: 'validator-h-finney',
    validationProcessName: 'alphacore-validation-api',
    healthStableMs: 20_000,
    healthTimeoutMs: 120_000,
    repoDir: '/srv/AlphaCore',
    remote: 'origin',
    branch: 'release',
    roundLockfile: '/tmp/r.lock',
    validationApiEndpoint: 'http://127.0.0.1:8888',
    validatorExtraArgs: [],
    validationApiExtraArgs: [],
    sandboxSetup: 'auto',
    depsRefresh: 'auto',
    ...overrides,
  } as unknown as AutoupdateConfig;
}

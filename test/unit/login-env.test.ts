import { describe, expect, it } from 'vitest';
import { withLoginEnv } from '../../src/core/login-env.js';

const account = { name: 'val', home: '/home/val', shell: '/bin/bash' };

describe('withLoginEnv: what a login shell would give the repo scripts', () => {
  it('fills USER, LOGNAME, HOME and SHELL from the account when missing (cron, env -i)', () => {
    expect(withLoginEnv({ PATH: '/usr/bin' }, account)).toEqual({ PATH: '/usr/bin', USER: 'val', LOGNAME: 'val', HOME: '/home/val', SHELL: '/bin/bash' });
  });

  it('keeps what the caller set (a HOME of its own, cron\'s SHELL=/bin/sh), and treats empty as missing', () => {
    expect(withLoginEnv({ HOME: '/srv/x', SHELL: '/bin/sh', LOGNAME: 'val', USER: '' }, account)).toEqual({ HOME: '/srv/x', SHELL: '/bin/sh', LOGNAME: 'val', USER: 'val' });
  });

  it('an account without a shell gets /bin/sh; no account (no passwd entry): the environment as it is', () => {
    expect(withLoginEnv({}, { ...account, shell: '' }).SHELL).toBe('/bin/sh');
    expect(withLoginEnv({ PATH: '/bin' }, undefined)).toEqual({ PATH: '/bin' });
  });
});

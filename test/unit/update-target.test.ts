import { describe, expect, it } from 'vitest';
import { chooseTarget, requestedRev } from '../../src/commands/update/target.js';
import { readConfig } from '../../src/core/config.js';
import { shellQuote } from '../../src/core/envfile.js';

const TIP = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
const base = { branchTip: TIP, remote: 'origin', branch: 'release', configFile: '/cfg/alphacore.env' };

describe('requestedRev: --to over PIN over the branch', () => {
  it('prefers the flag, then the pin, else nothing', () => {
    expect(requestedRev('1234567', 'abcdef0')).toEqual({ source: 'to', given: '1234567' });
    expect(requestedRev(undefined, 'abcdef0')).toEqual({ source: 'pin', given: 'abcdef0' });
    expect(requestedRev(undefined, undefined)).toBeUndefined();
  });
});

describe('chooseTarget', () => {
  it('follows the branch tip when nothing is requested', () => {
    expect(chooseTarget(base)).toEqual({ ok: true, sha: TIP, source: 'branch' });
  });
  it('takes a requested commit on the branch, the tip or an ancestor', () => {
    expect(chooseTarget({ ...base, requested: { source: 'pin', given: 'bbbbbbb', sha: OLD, onBranch: true } })).toEqual({ ok: true, sha: OLD, source: 'pin' });
    expect(chooseTarget({ ...base, requested: { source: 'to', given: TIP, sha: TIP, onBranch: true } })).toEqual({ ok: true, sha: TIP, source: 'to' });
  });
  it('refuses a commit that is not on the branch, naming the flag and the fix', () => {
    const c = chooseTarget({ ...base, requested: { source: 'to', given: 'bbbbbbb', sha: OLD, onBranch: false } });
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.reason).toBe('target-not-on-branch');
    expect(c.message).toContain('--to bbbbbbb: commit bbbbbbbbbbbb is not on origin/release');
    expect(c.message).toContain('Nothing was touched');
    expect(c.message).toContain('git -C <repo> log --oneline origin/release');
  });
  it('refuses a pin the clone does not have, naming the config file', () => {
    const c = chooseTarget({ ...base, requested: { source: 'pin', given: 'ccccccc', onBranch: false } });
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.message).toContain('PIN=ccccccc in /cfg/alphacore.env: no commit ccccccc exists in the clone after fetching origin/release');
    expect(c.message).toContain('remove the PIN line');
  });
});

describe('PIN in the config', () => {
  const paths = { lock: (ns: string) => `/tmp/${ns}.lock`, home: '/home/op' };
  const values = { NETWORK: 'test', WALLET_NAME: 'w', WALLET_HOTKEY: 'h', NETUID: '1', REPO_DIR: '/', PM2_NAMESPACE: 'alphacore' } as const;
  const env = { GOOGLE_OAUTH_ACCESS_TOKEN: 'token-value' };
  it('holds a sha, full or abbreviated', () => {
    // REPO_DIR=/ is no git clone: only the PIN problem matters here.
    const load = (pin: string) => {
      try {
        const text = Object.entries({ ...values, PIN: pin }).map(([k, v]) => `${k}=${shellQuote(v)}`).join('\n');
        return readConfig({ file: '/cfg', env, paths, text }, 'strict').pin;
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(load('1a2b3c4')).not.toContain('PIN=');
    expect(load('main')).toContain('PIN=main is not a commit sha (7 to 40 hex digits)');
    expect(load('$(id)')).toContain('is not a commit sha');
  });
});

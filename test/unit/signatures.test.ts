import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyVerifyOutput } from '../../src/domain/signatures.js';
import { fingerprintOf, keyWindowAt, parseAllowedSigners, parseSshTime } from '../../src/core/allowed-signers.js';
import { signatureSettings } from '../../src/core/signature-config.js';
import { tempDir } from '../helpers/tmp.js';

// Output of `git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=F verify-commit SHA`,
// captured from git 2.39.5 with OpenSSH 9.2p1 (stderr; stdout is empty).
const FP = 'SHA256:R45UnWFnmHWb4o6scAk0T2e+DsGt9FFPwF2XuTv3Alc';
const CAPTURED = {
  good: 'Good "git" signature for owner@x with ED25519 key SHA256:R45UnWFnmHWb4o6scAk0T2e+DsGt9FFPwF2XuTv3Alc',
  unknown: 'Good "git" signature with ED25519 key SHA256:b91z2TiBKPqUct4Dk0K/jeBGwybA41t9IlbaPMh5Qck\nNo principal matched.',
  expired: `Good "git" signature with ED25519 key ${FP}\n/tmp/sigexp/expired:1: key has expired: verify time 2026-11-30T06:50:54 > valid-before 2020-01-01T00:00:00\nNo principal matched.`,
  early: `Good "git" signature with ED25519 key ${FP}\n/tmp/sigexp/future:1: key is not yet valid: verify time 2026-11-30T06:50:54 < valid-after 2099-01-01T00:00:00\nNo principal matched.`,
  revoked: 'Could not verify signature.',
  altered: 'Could not verify signature.\nSignature verification failed: incorrect signature',
};

describe('classifyVerifyOutput (captured git output)', () => {
  it('good: only exit 0 with the principal line', () => {
    expect(classifyVerifyOutput({ exitCode: 0, output: CAPTURED.good, timedOut: false })).toMatchObject({ verdict: 'good', principal: 'owner@x', fingerprint: FP });
    // The same line with a failing exit (e.g. another verifier's) is not good.
    expect(classifyVerifyOutput({ exitCode: 1, output: CAPTURED.good, timedOut: false }).verdict).not.toBe('good');
  });
  it('each failure is named', () => {
    const v = (output: string) => classifyVerifyOutput({ exitCode: 1, output, timedOut: false });
    expect(v('')).toMatchObject({ verdict: 'unsigned' });
    expect(v(CAPTURED.unknown)).toMatchObject({ verdict: 'unknown-key', fingerprint: 'SHA256:b91z2TiBKPqUct4Dk0K/jeBGwybA41t9IlbaPMh5Qck' });
    expect(v(CAPTURED.expired)).toMatchObject({ verdict: 'expired', fingerprint: FP });
    expect(v(CAPTURED.expired).detail).toContain('valid-before 2020-01-01');
    expect(v(CAPTURED.early)).toMatchObject({ verdict: 'not-yet-valid' });
    expect(v(CAPTURED.revoked)).toMatchObject({ verdict: 'bad-signature' });
    expect(v(CAPTURED.altered).detail).toContain('changed after it was signed');
    expect(v('error: something new\nfatal: odd')).toMatchObject({ verdict: 'unverifiable' });
    expect(classifyVerifyOutput({ exitCode: undefined, output: '', timedOut: true }).verdict).toBe('unverifiable');
  });
  it('a gpg line quoting the ssh text is not good (anchored at line start)', () => {
    const forged = `gpg: Good signature from "Good "git" signature for owner@x with ED25519 key ${FP}"`;
    expect(classifyVerifyOutput({ exitCode: 0, output: forged, timedOut: false }).verdict).not.toBe('good');
  });
});

const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAINFK4h44rDOM4l6hFJsBkMcZo8pCNyK/BDwce15+DEzj';

describe('parseAllowedSigners', () => {
  it('reads principals, options, validity and the ssh-keygen fingerprint', () => {
    const { entries, problems } = parseAllowedSigners(
      ['# the subnet owner', '', `owner@subnet,release@subnet namespaces="git",valid-after="20250101",valid-before="20270101Z" ssh-ed25519 ${KEY} owner`, `ops@subnet ssh-ed25519 ${KEY}`].join('\n'),
      'f',
    );
    expect(problems).toEqual([]);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ line: 3, principals: 'owner@subnet,release@subnet', namespaces: 'git', validBefore: Date.UTC(2027, 0, 1), fingerprint: FP });
    expect(entries[1]).toMatchObject({ line: 4, certAuthority: false, fingerprint: FP });
    expect(fingerprintOf(KEY)).toBe(FP);
  });
  it('names the line of each problem', () => {
    const { problems } = parseAllowedSigners(
      [`owner ssh-ed25519`, `owner valid-before="2027-01-01" ssh-ed25519 ${KEY}`, `owner namespaces="file" ssh-ed25519 ${KEY}`, `owner ssh-foo ${KEY}`, `owner shoe-size=9 ssh-ed25519 ${KEY}`].join('\n'),
      'F',
    );
    expect(problems[0]).toMatch(/^F:1: expected "principals \[options\] key-type base64-key"/);
    expect(problems[1]).toMatch(/^F:2: valid-before="2027-01-01" is not a time/);
    expect(problems[2]).toMatch(/^F:3: namespaces="file" does not include git/);
    expect(problems[3]).toMatch(/^F:4: .*(not an SSH key type|expected)/);
    expect(problems[4]).toMatch(/^F:5: unknown option shoe-size/);
    expect(parseAllowedSigners('# nothing\n', 'F').problems).toEqual(['F: holds no key; add a line such as: owner@subnet namespaces="git" ssh-ed25519 AAAA...']);
  });
  it('ssh-keygen time syntax', () => {
    expect(parseSshTime('20270101Z')).toBe(Date.UTC(2027, 0, 1));
    expect(parseSshTime('202701021530Z')).toBe(Date.UTC(2027, 0, 2, 15, 30));
    expect(parseSshTime('20270102153045Z')).toBe(Date.UTC(2027, 0, 2, 15, 30, 45));
    expect(parseSshTime('20270101')).toBe(new Date(2027, 0, 1).getTime());
    for (const bad of ['2027-01-01', '20271301', '2027', 'tomorrow']) expect(parseSshTime(bad)).toBeUndefined();
  });
  it('a key window judged now: any line of the key that holds now makes it valid', () => {
    const { entries } = parseAllowedSigners(`a valid-before="20200101Z" ssh-ed25519 ${KEY}\nb valid-after="20990101Z" ssh-ed25519 ${KEY}`, 'f');
    const now = Date.UTC(2026, 0, 1);
    expect(keyWindowAt(entries, FP, now)).toMatchObject({ kind: 'not-yet-valid' });
    expect(keyWindowAt(entries.slice(0, 1), FP, now)).toEqual({ kind: 'expired', until: '20200101Z' });
    expect(keyWindowAt(entries, FP, Date.UTC(2019, 0, 1))).toEqual({ kind: 'valid' });
    expect(keyWindowAt(entries, 'SHA256:other', now)).toEqual({ kind: 'not-listed' });
  });
});

describe('signatureSettings (config keys)', () => {
  const check = (values: Record<string, string | undefined>) => {
    const problems: string[] = [];
    const settings = signatureSettings((k) => values[k], (p) => problems.push(p));
    return { settings, problems };
  };
  it('unset: no policy, no problem', () => {
    expect(check({})).toEqual({ settings: undefined, problems: [] });
  });
  it('tip by default; all when asked; a bad value and a missing file are named', () => {
    const dir = tempDir();
    const file = path.join(dir, 'allowed');
    fs.writeFileSync(file, `owner ssh-ed25519 ${KEY}\n`);
    expect(check({ ALLOWED_SIGNERS: file }).settings).toMatchObject({ policy: 'tip', allowedSigners: file });
    expect(check({ ALLOWED_SIGNERS: file, SIGNATURE_POLICY: 'all' }).settings?.policy).toBe('all');
    expect(check({ ALLOWED_SIGNERS: file, SIGNATURE_POLICY: 'some' }).problems).toEqual(['SIGNATURE_POLICY=some must be tip (check the commit to deploy) or all (every commit from HEAD to it).']);
    expect(check({ ALLOWED_SIGNERS: path.join(dir, 'nope') }).problems[0]).toMatch(/ALLOWED_SIGNERS=.*nope does not exist/);
    expect(check({ ALLOWED_SIGNERS: 'relative/file' }).problems[0]).toBe('ALLOWED_SIGNERS=relative/file must be an absolute path.');
    expect(check({ ALLOWED_SIGNERS: file, REVOKED_SIGNERS: path.join(dir, 'gone') }).problems[0]).toMatch(/REVOKED_SIGNERS=.*gone does not exist/);
    expect(check({ SIGNATURE_POLICY: 'all' }).problems[0]).toMatch(/SIGNATURE_POLICY is set but ALLOWED_SIGNERS is not/);
  });
});

describe('status screen and advice with a signature policy', () => {
  it('the Signatures rows follow Remote; a failing target is advice, and no longer "the next run deploys it"', async () => {
    const { healthyReport, A, B } = await import('../helpers/status-report.js');
    const { renderStatus } = await import('../../src/commands/status/render.js');
    const { adviseOn } = await import('../../src/commands/status/advice.js');
    const r = healthyReport();
    r.repo.target = { sha: B, short: B.slice(0, 7), subject: 'Next', time: '2026-11-28T11:00:00.000Z' };
    r.repo.relation = 'update-available';
    r.signatures = {
      policy: 'tip',
      allowedSigners: '/home/op/allowed_signers',
      head: { sha: A, verdict: 'good', principal: 'owner@subnet', fingerprint: FP, detail: `signed by owner@subnet (ED25519 key ${FP})` },
      target: { sha: B, verdict: 'unknown-key', fingerprint: 'SHA256:x', detail: 'signed by a key that is not in ALLOWED_SIGNERS (key SHA256:x)' },
      holds: false,
      failing: { sha: B, verdict: 'unknown-key', fingerprint: 'SHA256:x', detail: 'signed by a key that is not in ALLOWED_SIGNERS (key SHA256:x)' },
    };
    const { advice: _old, ...facts } = r;
    r.advice = adviseOn(facts);
    const text = renderStatus(r);
    expect(text).toContain(
      [
        'Signatures   policy tip, ALLOWED_SIGNERS /home/op/allowed_signers',
        `             HEAD   a1b2c3d good: signed by owner@subnet (ED25519 key ${FP})`,
        '             target b7c8d9e unknown-key: signed by a key that is not in ALLOWED_SIGNERS (key SHA256:x)',
        '             policy fails: update refuses b7c8d9e',
        'Scheduler',
      ].join('\n'),
    );
    const advice = r.advice.map((a) => a.text).join('\n');
    expect(advice).toContain('origin/release at b7c8d9e fails the signature policy: unknown-key');
    expect(advice).not.toContain('the next update run deploys it');
  });
});

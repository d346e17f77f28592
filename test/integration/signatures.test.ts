import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openGit } from '../../src/adapters/git.js';
import { evaluatePolicy, verifySignature } from '../../src/domain/signatures.js';
import { signatureSettings, type SignaturePolicy } from '../../src/core/signature-config.js';
import { cloneDeploy, createOrigin, git } from '../helpers/repo.js';
import { alterCommit, commitSigned, makeSigner, pushSigned, signerLine, withPgpHeader, writeSignersFile } from '../helpers/signing.js';
import { tempDir } from '../helpers/tmp.js';

/** An origin, a deploy clone, the owner's key and a stranger's, and an allowed_signers file. */
function world(lines: (o: ReturnType<typeof makeSigner>) => string[] = (o) => [signerLine(o)], extra: { revoked?: boolean; policy?: SignaturePolicy } = {}) {
  const root = tempDir('alphacore-sig-');
  const origin = createOrigin({ 'README.md': 'v0\n' }, { root });
  const deploy = cloneDeploy(origin, path.join(root, 'deploy'));
  const owner = makeSigner(path.join(root, 'keys'), 'owner@subnet');
  const stranger = makeSigner(path.join(root, 'keys'), 'stranger@elsewhere');
  const allowed = writeSignersFile(path.join(root, 'allowed_signers'), lines(owner));
  const revoked = extra.revoked ? writeSignersFile(path.join(root, 'revoked'), [owner.publicKey]) : undefined;
  const values: Record<string, string | undefined> = { ALLOWED_SIGNERS: allowed, REVOKED_SIGNERS: revoked, SIGNATURE_POLICY: extra.policy };
  const problems: string[] = [];
  const settings = signatureSettings((k) => values[k], (p) => problems.push(p))!;
  expect(problems).toEqual([]);
  const g = openGit(deploy, { PATH: process.env.PATH, HOME: root });
  const fetch = () => git(deploy, 'fetch', '--quiet', 'origin');
  const head = () => git(deploy, 'rev-parse', 'HEAD');
  return { root, origin, deploy, owner, stranger, settings, g, fetch, head };
}

const NOW = Date.now();

describe('signature verification with real git, ssh-keygen keys and signed commits', () => {
  it('good: the principal and the key fingerprint of the owner', async () => {
    const w = world();
    const sha = pushSigned(w.origin, w.owner, { 'a.txt': '1\n' }, 'signed release');
    w.fetch();
    const r = await verifySignature(w.g, w.settings, sha, NOW);
    expect(r).toMatchObject({ sha, verdict: 'good', principal: 'owner@subnet' });
    expect(r.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    // The parser computes the same fingerprint as ssh-keygen.
    expect(w.settings.entries[0]!.fingerprint).toBe(r.fingerprint);
  });

  it('unsigned, unknown key, OpenPGP header: each named', async () => {
    const w = world();
    const unsigned = pushSigned(w.origin, null, { 'a.txt': '1\n' }, 'unsigned');
    const strangers = pushSigned(w.origin, w.stranger, { 'a.txt': '2\n' }, 'by a stranger');
    w.fetch();
    const pgp = withPgpHeader(w.origin.author, unsigned);
    w.origin.forcePush(pgp);
    w.fetch();
    expect(await verifySignature(w.g, w.settings, unsigned, NOW)).toMatchObject({ verdict: 'unsigned' });
    const unknown = await verifySignature(w.g, w.settings, strangers, NOW);
    expect(unknown.verdict).toBe('unknown-key');
    expect(unknown.fingerprint).toMatch(/^SHA256:/);
    expect(unknown.fingerprint).not.toBe(w.settings.entries[0]!.fingerprint);
    expect(await verifySignature(w.g, w.settings, pgp, NOW)).toMatchObject({ verdict: 'not-ssh' });
  });

  it('expired (valid-before passed) and not yet valid (valid-after ahead)', async () => {
    const expired = world((o) => [signerLine(o, 'namespaces="git",valid-before="20200101Z"')]);
    const sha = pushSigned(expired.origin, expired.owner, { 'a.txt': '1\n' }, 'signed by a retired key');
    expired.fetch();
    const r = await verifySignature(expired.g, expired.settings, sha, NOW);
    expect(r.verdict).toBe('expired');
    expect(r.detail).toContain('valid-before');

    const early = world((o) => [signerLine(o, 'namespaces="git",valid-after="20990101Z"')]);
    const sha2 = pushSigned(early.origin, early.owner, { 'a.txt': '1\n' }, 'signed too early');
    early.fetch();
    expect((await verifySignature(early.g, early.settings, sha2, NOW)).verdict).toBe('not-yet-valid');
  });

  it('expired key on a backdated commit: git accepts it (commit date), the check now refuses it', async () => {
    const w = world((o) => [signerLine(o, 'namespaces="git",valid-before="20200101Z"')]);
    const sha = pushSigned(w.origin, w.owner, { 'a.txt': '1\n' }, 'backdated', { committerDate: '2019-06-01T00:00:00Z' });
    w.fetch();
    const raw = await w.g.verifyCommit(sha, { allowedSigners: w.settings.allowedSigners });
    expect(raw.exitCode).toBe(0);
    const r = await verifySignature(w.g, w.settings, sha, NOW);
    expect(r).toMatchObject({ verdict: 'expired', principal: 'owner@subnet' });
    // Judged at a time inside the window, the same commit is good: the clock decides.
    expect((await verifySignature(w.g, w.settings, sha, Date.UTC(2019, 6, 1))).verdict).toBe('good');
  });

  it('revoked: named as revoked, with the key', async () => {
    const w = world(undefined, { revoked: true });
    const sha = pushSigned(w.origin, w.owner, { 'a.txt': '1\n' }, 'signed by a revoked key');
    w.fetch();
    const r = await verifySignature(w.g, w.settings, sha, NOW);
    expect(r.verdict).toBe('revoked');
    expect(r.fingerprint).toBe(w.settings.entries[0]!.fingerprint);
  });

  it('content altered after signing: bad signature', async () => {
    const w = world();
    const signed = pushSigned(w.origin, w.owner, { 'a.txt': '1\n' }, 'signed release');
    const altered = alterCommit(w.origin.author, signed, 'signed release, quietly changed');
    expect(altered).not.toBe(signed);
    w.origin.forcePush(altered);
    w.fetch();
    expect(git(w.deploy, 'rev-parse', 'origin/release')).toBe(altered);
    expect(await verifySignature(w.g, w.settings, altered, NOW)).toMatchObject({ verdict: 'bad-signature' });
  });

  it('all: an unsigned commit under a signed tip fails, tip passes; a signed merge does not cover its unsigned side', async () => {
    for (const policy of ['tip', 'all'] as const) {
      const w = world(undefined, { policy });
      const base = w.head();
      const unsigned = pushSigned(w.origin, null, { 'a.txt': '1\n' }, 'unsigned change');
      const tip = pushSigned(w.origin, w.owner, { 'a.txt': '2\n' }, 'signed release');
      w.fetch();
      const r = await evaluatePolicy(w.g, w.settings, base, tip, NOW);
      if (policy === 'tip') expect(r).toMatchObject({ holds: true, checked: 1 });
      else expect(r).toMatchObject({ holds: false, checked: 1, failing: { sha: unsigned, verdict: 'unsigned' } });
    }
    const w = world(undefined, { policy: 'all' });
    const base = w.head();
    git(w.origin.author, 'checkout', '--quiet', '-b', 'side');
    const side = commitSigned(w.origin.author, null, 'unsigned side work', { allowEmpty: true });
    git(w.origin.author, 'checkout', '--quiet', 'release');
    commitSigned(w.origin.author, w.owner, 'signed mainline');
    git(w.origin.author, '-c', 'gpg.format=ssh', '-c', `user.signingkey=${w.owner.key}`, 'merge', '--quiet', '-S', '--no-ff', '-m', 'signed merge', 'side');
    const mergeSha = git(w.origin.author, 'rev-parse', 'HEAD');
    w.origin.forcePush(mergeSha);
    w.fetch();
    expect((await verifySignature(w.g, w.settings, mergeSha, NOW)).verdict).toBe('good');
    const r = await evaluatePolicy(w.g, w.settings, base, mergeSha, NOW);
    expect(r).toMatchObject({ holds: false, failing: { sha: side, verdict: 'unsigned' } });
  });

  it("the operator's git config is neither used to widen the check nor changed", async () => {
    const w = world();
    const sha = pushSigned(w.origin, w.stranger, { 'a.txt': '1\n' }, 'by a stranger');
    w.fetch();
    // A global config that would trust the stranger and pick another format.
    const home = path.join(w.root, 'operator-home');
    fs.mkdirSync(home);
    const permissive = writeSignersFile(path.join(home, 'allowed'), [signerLine(w.stranger)]);
    fs.writeFileSync(path.join(home, '.gitconfig'), `[gpg]\n\tformat = openpgp\n[gpg "ssh"]\n\tallowedSignersFile = ${permissive}\n`);
    const before = [fs.readFileSync(path.join(home, '.gitconfig'), 'utf8'), fs.readFileSync(path.join(w.deploy, '.git', 'config'), 'utf8')];
    const g = openGit(w.deploy, { PATH: process.env.PATH, HOME: home });
    expect((await verifySignature(g, w.settings, sha, NOW)).verdict).toBe('unknown-key');
    expect([fs.readFileSync(path.join(home, '.gitconfig'), 'utf8'), fs.readFileSync(path.join(w.deploy, '.git', 'config'), 'utf8')]).toEqual(before);
  });

  it('a force-push back to an older signed commit: HEAD..target is empty, both policies check the target', async () => {
    for (const policy of ['tip', 'all'] as const) {
      const w = world(undefined, { policy });
      const older = pushSigned(w.origin, w.owner, { 'a.txt': '1\n' }, 'signed 1');
      pushSigned(w.origin, w.owner, { 'a.txt': '2\n' }, 'signed 2');
      w.fetch();
      git(w.deploy, 'reset', '--quiet', '--hard', 'origin/release');
      const r = await evaluatePolicy(w.g, w.settings, w.head(), older, NOW);
      expect(r).toMatchObject({ holds: true, checked: 1, target: { sha: older, verdict: 'good' } });
      const unsignedOld = git(w.deploy, 'rev-parse', `${older}~1`); // the unsigned initial commit
      expect(await evaluatePolicy(w.g, w.settings, w.head(), unsignedOld, NOW)).toMatchObject({ holds: false, failing: { verdict: 'unsigned' } });
    }
  });
});

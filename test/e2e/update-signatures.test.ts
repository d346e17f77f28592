import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApi, type FakeApi } from '../helpers/api.js';
import { git } from '../helpers/repo.js';
import { alterCommit, makeSigner, pushSigned, signerLine, writeSignersFile, type Signer } from '../helpers/signing.js';
import { tempDir } from '../helpers/tmp.js';
import { updateSetup, type UpdateSetup } from '../helpers/update-setup.js';

/**
 * Signed releases (DESIGN.md §11, §5 step 8a) through the built CLI: real ssh-keygen keys,
 * commits signed by git in the origin's author clone, `alphacore update` verifying them
 * with git. Every refusal ends with the deploy clone where it was (this file has no
 * services; test/e2e/update-signatures-pm2.test.ts asserts the PM2 processes).
 */
interface SignedSetup extends UpdateSetup {
  owner: Signer;
  stranger: Signer;
  hook: FakeApi;
  head(): string;
}

async function signedSetup(options: { options?: string; revoked?: boolean; config?: string[] } = {}): Promise<SignedSetup> {
  const keys = tempDir('alphacore-keys-');
  const owner = makeSigner(keys, 'owner@subnet');
  const stranger = makeSigner(keys, 'stranger@elsewhere');
  const allowed = writeSignersFile(path.join(keys, 'allowed_signers'), ['# the subnet owner', signerLine(owner, options.options)]);
  const revoked = options.revoked ? writeSignersFile(path.join(keys, 'revoked_keys'), [owner.publicKey]) : undefined;
  fs.chmodSync(keys, 0o755); // readable by whichever user runs the CLI
  const hook = await startApi();
  const s = await updateSetup({
    config: [`ALLOWED_SIGNERS=${allowed}`, ...(revoked ? [`REVOKED_SIGNERS=${revoked}`] : []), `NOTIFY_WEBHOOK_URL=${hook.url}/hook`, ...(options.config ?? [])],
  });
  return { ...s, owner, stranger, hook, head: () => git(s.deploy, 'rev-parse', 'HEAD') };
}

/** A refusal as the contract says: exit 1, the result line last, the commit and the why in the log, the clone unmoved. */
async function expectRefused(s: SignedSetup, target: string, why: RegExp, args: string[] = []): Promise<void> {
  const before = s.head();
  const r = await s.run(['--json', ...args]);
  expect(r.exitCode, r.stdout + r.stderr).toBe(1);
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  expect(last).toMatchObject({ event: 'result', outcome: 'refused', reason: 'unsigned', from: before, to: target });
  // A dry run writes no log file: its lines are on stdout only.
  const log = args.includes('--dry-run') ? r.stdout : fs.readFileSync(s.logFile, 'utf8');
  expect(log).toContain(`refusing to deploy ${target.slice(0, 7)}`);
  expect(log).toMatch(why);
  expect(log).toContain('Nothing was stopped.');
  expect(s.head()).toBe(before);
  expect(git(s.deploy, 'status', '--porcelain')).toBe('');
}

describe('update with ALLOWED_SIGNERS: only signed releases are deployed', () => {
  it('an unsigned release is refused, --force does not bypass it, the webhook is told once per commit, --dry-run says refused and tells no one', async () => {
    const s = await signedSetup();
    const unsigned = pushSigned(s.origin, null, { 'src/app.py': 'print("v2")\n' }, 'unsigned release');
    await expectRefused(s, unsigned, /the commit has no signature/, ['--dry-run']);
    expect(s.hook.requests).toHaveLength(0);
    await expectRefused(s, unsigned, /unsigned: the commit has no signature/);
    await expectRefused(s, unsigned, /no signature/, ['--force']);
    expect(s.hook.requests).toHaveLength(1);
    const body = JSON.parse(s.hook.requests[0]!.body) as { text: string; alphacore: Record<string, unknown> };
    expect(body.alphacore).toMatchObject({ outcome: 'refused', reason: 'unsigned', to: unsigned });
    expect(body.text).toContain(`refused to deploy ${unsigned.slice(0, 7)}`);
    // Another unsigned commit: told again, once.
    const next = pushSigned(s.origin, null, { 'src/app.py': 'print("v3")\n' }, 'unsigned again');
    await expectRefused(s, next, /no signature/);
    await expectRefused(s, next, /no signature/);
    expect(s.hook.requests).toHaveLength(2);
  });

  it('a release signed by a key that is not in the file is refused, naming the key', async () => {
    const s = await signedSetup();
    const sha = pushSigned(s.origin, s.stranger, { 'src/app.py': 'print("v2")\n' }, 'signed by a stranger');
    await expectRefused(s, sha, /unknown-key: signed by a key that is not in ALLOWED_SIGNERS \(key SHA256:/);
  });

  it('a key whose valid-before has passed is refused', async () => {
    const s = await signedSetup({ options: 'namespaces="git",valid-before="20200101Z"' });
    const sha = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v2")\n' }, 'signed by a retired key');
    await expectRefused(s, sha, /expired: signed by an expired key .*valid-before 2020-01-01/);
    // Backdating the commit into the key's window does not help: the window is also judged now.
    const backdated = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v3")\n' }, 'backdated', { committerDate: '2019-06-01T00:00:00Z' });
    await expectRefused(s, backdated, /expired: signed by owner@subnet's key SHA256:\S+, whose valid-before 20200101Z has passed/);
  });

  it('a revoked key is refused as revoked', async () => {
    const s = await signedSetup({ revoked: true });
    const sha = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v2")\n' }, 'signed by a revoked key');
    await expectRefused(s, sha, /revoked: signed by owner@subnet's key SHA256:\S+, which is listed in REVOKED_SIGNERS/);
  });

  it('a signed release whose content was altered after signing is refused', async () => {
    const s = await signedSetup();
    const signed = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v2")\n' }, 'signed release');
    const altered = alterCommit(s.origin.author, signed, 'signed release (edited)');
    s.origin.forcePush(altered);
    await expectRefused(s, altered, /bad-signature: the signature does not match the commit/);
  });

  it('SIGNATURE_POLICY=all catches an unsigned commit below a signed tip; tip lets it through', async () => {
    const s = await signedSetup({ config: ['SIGNATURE_POLICY=all'] });
    const unsigned = pushSigned(s.origin, null, { 'src/app.py': 'print("v2")\n' }, 'unsigned change');
    const tip = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v3")\n' }, 'signed release');
    await expectRefused(s, tip, new RegExp(`${tip.slice(0, 7)}: commit ${unsigned.slice(0, 7)} \\(between HEAD \\w+ and it\\): unsigned`));
    fs.appendFileSync(s.configFile, 'SIGNATURE_POLICY=tip\n');
    const r = await s.run(['--dry-run', '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'would-update', to: tip });
    expect(r.json.find((j) => j.event === 'signature')).toMatchObject({ policy: 'tip', holds: true, commit: tip, verdict: 'good', principal: 'owner@subnet' });
  });

  it('a force-push back to an older signed release passes tip (and all, which then checks the target)', async () => {
    const s = await signedSetup();
    const older = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v2")\n' }, 'signed 2');
    pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v3")\n' }, 'signed 3');
    git(s.deploy, 'fetch', '--quiet', 'origin');
    git(s.deploy, 'reset', '--quiet', '--hard', 'origin/release');
    s.origin.forcePush(older);
    for (const policy of ['tip', 'all']) {
      fs.appendFileSync(s.configFile, `SIGNATURE_POLICY=${policy}\n`);
      const r = await s.run(['--dry-run', '--json']);
      expect(r.exitCode, r.stdout).toBe(0);
      expect(r.result).toMatchObject({ outcome: 'would-update', to: older });
      expect(r.stdout).toContain(`signature of ${older.slice(0, 7)}: signed by owner@subnet`);
    }
  });

  it('up to date: no verification at all (the no-op run costs nothing more)', async () => {
    const s = await signedSetup();
    // HEAD is the fixture's unsigned first commit, and it is not judged: nothing to deploy.
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'up-to-date' });
    expect(r.json.some((j) => j.event === 'signature')).toBe(false);
  });

  it('bad settings: a missing file or a bad policy is exit 2, named, nothing run', async () => {
    const s = await updateSetup({ config: ['ALLOWED_SIGNERS=/nonexistent/allowed_signers', 'SIGNATURE_POLICY=every'] });
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('ALLOWED_SIGNERS=/nonexistent/allowed_signers does not exist');
    expect(r.stderr).toContain('SIGNATURE_POLICY=every must be tip');
  });
});

describe('status with ALLOWED_SIGNERS: the signer of HEAD and of the target, and whether the policy holds', () => {
  it('text and --json', async () => {
    const s = await signedSetup();
    const head = s.head();
    const unsigned = pushSigned(s.origin, null, { 'src/app.py': 'print("v2")\n' }, 'unsigned release');
    await s.run();
    // As the clone's owner (update made it the throwaway user's when root): git refuses a clone of another user.
    const status = (args: string[]) => s.cli(['status', '--config', s.configFile, ...args]);
    const json = JSON.parse((await status(['--json'])).stdout) as { signatures: Record<string, unknown>; advice: { text: string }[] };
    expect(json.signatures, JSON.stringify({ signatures: json.signatures, repo: (json as Record<string, unknown>).repo })).toMatchObject({
      policy: 'tip',
      head: { sha: head, verdict: 'unsigned' },
      target: { sha: unsigned, verdict: 'unsigned' },
      holds: false,
      failing: { sha: unsigned, verdict: 'unsigned' },
    });
    expect(json.advice.map((a) => a.text).join('\n')).toContain(`origin/release at ${unsigned.slice(0, 7)} fails the signature policy: unsigned`);
    const text = (await status([])).stdout;
    expect(text).toMatch(new RegExp(`^Signatures +policy tip, ALLOWED_SIGNERS /\\S+/allowed_signers$`, 'm'));
    expect(text).toContain(`HEAD   ${head.slice(0, 7)} unsigned: the commit has no signature`);
    expect(text).toContain(`policy fails: update refuses ${unsigned.slice(0, 7)}`);

    // The owner signs the next release: status names the signer and says the policy holds.
    const signed = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v3")\n' }, 'signed release');
    git(s.deploy, 'fetch', '--quiet', 'origin');
    const after = JSON.parse((await status(['--json'])).stdout) as { signatures: Record<string, unknown> };
    expect(after.signatures).toMatchObject({ target: { sha: signed, verdict: 'good', principal: 'owner@subnet', fingerprint: expect.stringMatching(/^SHA256:/) }, holds: true });
    expect((await status([])).stdout).toContain(`target ${signed.slice(0, 7)} good: signed by owner@subnet (ED25519 key SHA256:`);
  });
});

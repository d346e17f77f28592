import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApi, type FakeApi } from '../helpers/api.js';
import { git } from '../helpers/repo.js';
import { commitSigned, makeSigner, ownerGit, pushSigned, signerLine, writeSignersFile, type Signer } from '../helpers/signing.js';
import { tempDir } from '../helpers/tmp.js';
import { updateSetup, type UpdateSetup } from '../helpers/update-setup.js';

/**
 * The history policy (DESIGN.md §5 step 5, §11) through the built CLI, with real
 * ssh-keygen signatures: the owner signs every commit (commit.gpgsign, as the README
 * says), so an origin that replays one of them (a work-in-progress commit of another
 * branch, an old release) passes the signature check; only the history stops it.
 */
interface HistorySetup extends UpdateSetup {
  owner: Signer;
  hook: FakeApi;
  head(): string;
  /** Brings the deploy clone to the branch tip, as an earlier update would have. */
  deployTip(): string;
}

async function historySetup(config: string[] = []): Promise<HistorySetup> {
  const keys = tempDir('alphacore-keys-');
  const owner = makeSigner(keys, 'owner@subnet');
  const allowed = writeSignersFile(path.join(keys, 'allowed_signers'), [signerLine(owner)]);
  fs.chmodSync(keys, 0o755);
  const hook = await startApi();
  const s = await updateSetup({ config: [`ALLOWED_SIGNERS=${allowed}`, `NOTIFY_WEBHOOK_URL=${hook.url}/hook`, ...config] });
  const head = () => git(s.deploy, 'rev-parse', 'HEAD');
  return {
    ...s,
    owner,
    hook,
    head,
    deployTip: () => {
      git(s.deploy, 'fetch', '--quiet', 'origin');
      git(s.deploy, 'reset', '--quiet', '--hard', 'origin/release');
      return head();
    },
  };
}

/** A signed commit on another branch (refs/heads/wip), off the author clone's current commit. */
function signedWip(s: HistorySetup): string {
  fs.writeFileSync(path.join(s.origin.author, 'wip.py'), 'print("half done")\n');
  const sha = commitSigned(s.origin.author, s.owner, 'wip: half done');
  ownerGit(s.origin.author, ['push', '--quiet', 'origin', 'HEAD:refs/heads/wip']);
  ownerGit(s.origin.author, ['reset', '--quiet', '--hard', 'HEAD~1']);
  return sha;
}

async function expectNotForward(s: HistorySetup, target: string, args: string[] = []): Promise<void> {
  const before = s.head();
  const dryRun = args.includes('--dry-run');
  const files = () => [s.stateFile, s.logFile].map((f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined));
  const untouched = files();
  const r = await s.run(['--json', ...args]);
  expect(r.exitCode, r.stdout + r.stderr).toBe(1);
  expect(r.result).toMatchObject({ event: 'result', outcome: 'refused', reason: 'not-forward', from: before, to: target });
  // A dry run writes no log, no state (nor the commit the webhook was told about): its words are on stdout.
  if (dryRun) expect(files()).toEqual(untouched);
  const log = dryRun ? r.stdout : fs.readFileSync(s.logFile, 'utf8');
  expect(log).toContain(`refusing origin/release at ${target.slice(0, 7)}: it does not descend from the deployed ${before.slice(0, 7)}`);
  expect(log).toContain(`alphacore update --config ${s.configFile} --to ${target}`);
  expect(log).toContain('Nothing was stopped.');
  // The signature was never the question: the target is signed by the owner.
  expect(r.json.some((j) => j.event === 'signature')).toBe(false);
  expect(s.head()).toBe(before);
}

describe('HISTORY_POLICY=forward (the default with ALLOWED_SIGNERS): signed commits cannot be replayed', () => {
  it('release moved sideways to a signed WIP commit of another branch: refused, webhook once per commit, status says it', async () => {
    const s = await historySetup();
    pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v2")\n' }, 'signed release 2');
    const wip = signedWip(s);
    pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v3")\n' }, 'signed release 3');
    const deployed = s.deployTip();
    s.origin.forcePush(wip);
    // A dry run first refuses the same, tells no one and records nothing: the real run below still tells.
    await expectNotForward(s, wip, ['--dry-run']);
    expect(s.hook.requests).toHaveLength(0);
    await expectNotForward(s, wip);
    await expectNotForward(s, wip);
    expect(s.hook.requests).toHaveLength(1);
    const body = JSON.parse(s.hook.requests[0]!.body) as { text: string; alphacore: Record<string, unknown> };
    expect(body.alphacore).toMatchObject({ outcome: 'refused', reason: 'not-forward', from: deployed, to: wip });
    expect(body.text).toContain(`refused to deploy ${wip.slice(0, 7)}`);
    // Nor after it.
    await expectNotForward(s, wip, ['--dry-run']);
    expect(s.hook.requests).toHaveLength(1);
    const status = JSON.parse((await s.cli(['status', '--config', s.configFile, '--json'])).stdout) as { lastRun: Record<string, unknown>; advice: { text: string }[] };
    expect(status.lastRun).toMatchObject({ outcome: 'refused', reason: 'not-forward', from: deployed, to: wip });
    expect(status.advice.map((a) => a.text).join('\n')).toContain(`origin/release at ${wip.slice(0, 7)} does not descend from the deployed ${deployed.slice(0, 7)}`);
    // Not also "origin/release is at <wip> ...; deploy it with ...": the update refuses it.
    expect(status.advice.map((a) => a.text).join('\n')).not.toContain(`origin/release is at ${wip.slice(0, 7)} (as of the last fetch)`);
    expect((await s.cli(['status', '--config', s.configFile])).stdout).toContain(`--to ${wip}`);
  });

  it('release moved back to an old signed release (a downgrade): refused; --to accepts it explicitly; HISTORY_POLICY=any restores the bash rule', async () => {
    const s = await historySetup();
    const old = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v2, vulnerable")\n' }, 'signed release 2');
    pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v3, fixed")\n' }, 'signed release 3');
    s.deployTip();
    s.origin.forcePush(old);
    await expectNotForward(s, old);
    expect(s.hook.requests).toHaveLength(1);
    // The operator's explicit choice: deployable (a dry run says so; the signature is checked).
    const accepted = await s.run(['--dry-run', '--json', '--to', old]);
    expect(accepted.exitCode, accepted.stdout).toBe(0);
    expect(accepted.result).toMatchObject({ outcome: 'would-update', to: old });
    expect(accepted.stdout).toContain(`does not descend from the deployed`);
    expect(accepted.json.find((j) => j.event === 'signature')).toMatchObject({ holds: true, commit: old });
    fs.appendFileSync(s.configFile, 'HISTORY_POLICY=any\n');
    const any = await s.run(['--dry-run', '--json']);
    expect(any.exitCode, any.stdout).toBe(0);
    expect(any.result).toMatchObject({ outcome: 'would-update', to: old });
  });

  it('a signed release that moves forward passes; a bad HISTORY_POLICY is exit 2 naming the key', async () => {
    const s = await historySetup();
    s.deployTip();
    const next = pushSigned(s.origin, s.owner, { 'src/app.py': 'print("v2")\n' }, 'signed release 2');
    const r = await s.run(['--dry-run', '--json']);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'would-update', to: next });
    fs.appendFileSync(s.configFile, 'HISTORY_POLICY=backwards\n');
    const bad = await s.run([]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('HISTORY_POLICY=backwards must be forward');
  });
});

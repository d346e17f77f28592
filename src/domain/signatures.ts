import { openGit, type Git, type VerifyOutput } from '../adapters/git.js';
import { keyWindowAt } from '../core/allowed-signers.js';
import type { AutoupdateConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import type { UpdateLog } from '../core/log.js';
import type { SignatureSettings } from '../core/signature-config.js';
import type { Decision } from './outcome.js';

/** What git (and the key's window now) says about one commit's signature (DESIGN.md §11). */
export type Verdict = 'good' | 'unsigned' | 'not-ssh' | 'unknown-key' | 'expired' | 'not-yet-valid' | 'revoked' | 'bad-signature' | 'unverifiable';

export interface SignatureCheck {
  verdict: Verdict;
  /** The principal of ALLOWED_SIGNERS the key matched (good signatures only). */
  principal?: string;
  /** SHA256 fingerprint of the signing key, when git could read the signature. */
  fingerprint?: string;
  /** One line: why, in the words of the refusal. */
  detail: string;
}

export interface CommitSignature extends SignatureCheck {
  sha: string;
}

const GOOD = /^Good "git" signature for (.+) with (\S+) key (SHA256:\S+)$/m;
const GOOD_NO_PRINCIPAL = /^Good "git" signature with (\S+) key (SHA256:\S+)$/m;

/**
 * Classifies the output of `git -c gpg.format=ssh ... verify-commit` (git 2.34+ with
 * OpenSSH 8.8+; pure). Only an exit 0 with ssh-keygen's `Good "git" signature for
 * <principal>` line is good: a good signature by a key missing from the file exits 1.
 */
export function classifyVerifyOutput(result: VerifyOutput): SignatureCheck {
  const out = result.output;
  const good = GOOD.exec(out);
  if (result.exitCode === 0 && good) return { verdict: 'good', principal: good[1]!, fingerprint: good[3]!, detail: `signed by ${good[1]} (${good[2]} key ${good[3]})` };
  if (result.timedOut) return { verdict: 'unverifiable', detail: 'git verify-commit timed out' };
  const fingerprint = GOOD_NO_PRINCIPAL.exec(out)?.[2] ?? good?.[3];
  const withKey = fingerprint ? ` (key ${fingerprint})` : '';
  const line = (re: RegExp) => re.exec(out)?.[1]?.trim();
  const expired = line(/key has expired: (.*)$/m);
  if (expired) return { verdict: 'expired', fingerprint, detail: `signed by an expired key${withKey}: ${expired}` };
  const early = line(/key is not yet valid: (.*)$/m);
  if (early) return { verdict: 'not-yet-valid', fingerprint, detail: `signed by a key not yet valid${withKey}: ${early}` };
  if (/^No principal matched\.?$/m.test(out)) return { verdict: 'unknown-key', fingerprint, detail: `signed by a key that is not in ALLOWED_SIGNERS${withKey}` };
  if (/incorrect signature/.test(out)) return { verdict: 'bad-signature', detail: 'the signature does not match the commit: its content was changed after it was signed' };
  if (/^Could not verify signature\.?$/m.test(out)) return { verdict: 'bad-signature', detail: 'the signature could not be verified (ssh-keygen rejected it)' };
  if (out === '') return { verdict: 'unsigned', detail: 'the commit has no signature' };
  return { verdict: 'unverifiable', detail: `git verify-commit: ${out.split('\n').slice(-2).join(' | ')}` };
}

/**
 * One commit against the settings: git's verdict (the key's window judged at the
 * commit's date, which the signer writes), then the window judged now, so that a key
 * past its valid-before cannot sign a backdated commit. A rejection that revocation
 * may explain is asked again without REVOKED_SIGNERS, to name it.
 */
export async function verifySignature(git: Git, settings: SignatureSettings, sha: string, nowMs: number): Promise<CommitSignature> {
  const files = { allowedSigners: settings.allowedSigners, revokedSigners: settings.revokedSigners };
  const check = classifyVerifyOutput(await git.verifyCommit(sha, files));
  if (check.verdict === 'unsigned') {
    const kind = await git.signatureKind(sha);
    if (kind !== 'none' && kind !== 'ssh') return { sha, verdict: 'not-ssh', detail: `the commit carries an ${kind === 'openpgp' ? 'OpenPGP (gpg)' : 'X.509'} signature; only SSH signatures are accepted` };
  }
  if (check.verdict === 'bad-signature' && settings.revokedSigners && !/incorrect signature/.test(check.detail)) {
    const again = classifyVerifyOutput(await git.verifyCommit(sha, { allowedSigners: settings.allowedSigners }));
    if (again.fingerprint) {
      const by = again.principal ? `${again.principal}'s key` : 'a key';
      return { sha, verdict: 'revoked', fingerprint: again.fingerprint, detail: `signed by ${by} ${again.fingerprint}, which is listed in REVOKED_SIGNERS` };
    }
  }
  if (check.verdict === 'good' && check.fingerprint) {
    const window = keyWindowAt(settings.entries, check.fingerprint, nowMs);
    if (window.kind === 'expired') return { sha, ...check, verdict: 'expired', detail: `signed by ${check.principal}'s key ${check.fingerprint}, whose valid-before ${window.until} has passed (the commit's date says otherwise, but the signer writes that date)` };
    if (window.kind === 'not-yet-valid') return { sha, ...check, verdict: 'not-yet-valid', detail: `signed by ${check.principal}'s key ${check.fingerprint}, valid only from ${window.from}` };
  }
  return { sha, ...check };
}

export interface PolicyResult {
  /** true when every checked commit is good. */
  holds: boolean;
  /** How many commits were verified (1 for tip; all stops at the first failure). */
  checked: number;
  /** The first commit that fails, oldest first. */
  failing?: CommitSignature;
  /** The target's own check, when it was reached. */
  target?: CommitSignature;
}

/**
 * `tip`: the target. `all`: every commit in HEAD..target (merges and what they bring in),
 * oldest first, then the target itself: when the branch moved back (the target is an
 * ancestor of HEAD) HEAD..target is empty and `all` checks the target, like `tip`.
 * Stops at the first failure.
 */
export async function evaluatePolicy(git: Git, settings: SignatureSettings, head: string, target: string, nowMs: number): Promise<PolicyResult> {
  const shas = settings.policy === 'all' ? await git.commitsBetween(head, target) : [];
  if (shas.at(-1) !== target) shas.push(target);
  let checked = 0;
  for (const sha of shas) {
    const result = await verifySignature(git, settings, sha, nowMs);
    checked += 1;
    if (result.verdict !== 'good') return { holds: false, checked, failing: result, ...(sha === target ? { target: result } : {}) };
    if (sha === target) return { holds: true, checked, target: result };
  }
  return { holds: true, checked };
}

const short = (sha: string) => sha.slice(0, 7);

/** A refusal for a commit that fails the policy; `notify: false` in a dry run (it tells no one). */
export type SignatureDecision = Decision & { outcome: 'refused'; reason: 'unsigned'; detail: string; commit: string; notify: boolean };

/**
 * Step 8a (DESIGN.md §5, §11): undefined when no policy is configured or the target
 * passes it; else a refusal naming the commit and why. Runs only when HEAD differs from
 * the target (an up-to-date run returns before it), and `--force` does not skip it.
 */
export async function checkSignatures(input: {
  ctx: Context;
  config: AutoupdateConfig;
  log: UpdateLog;
  from: string;
  to: string;
  dryRun?: boolean;
  git?: Git;
}): Promise<SignatureDecision | undefined> {
  const { ctx, config, log, from, to } = input;
  const settings = config.signatures;
  if (!settings) return undefined;
  const git = input.git ?? openGit(config.repoDir, ctx.env);
  const result = await evaluatePolicy(git, settings, from, to, ctx.now().getTime());
  const scope = settings.policy === 'all' ? `SIGNATURE_POLICY=all, ${result.checked} commit${result.checked === 1 ? '' : 's'} checked` : 'SIGNATURE_POLICY=tip';
  const seen = result.failing ?? result.target;
  log.event({ event: 'signature', policy: settings.policy, holds: result.holds, checked: result.checked, commit: seen?.sha ?? to, verdict: seen?.verdict ?? null, principal: seen?.principal ?? null, fingerprint: seen?.fingerprint ?? null });
  if (result.holds) {
    log.info(`signature of ${short(to)}: ${result.target?.detail ?? 'good'} (${scope})`);
    return undefined;
  }
  const bad = result.failing!;
  const which = bad.sha === to ? short(to) : `${short(to)}: commit ${short(bad.sha)} (between HEAD ${short(from)} and it)`;
  const detail = `${which}: ${bad.verdict}: ${bad.detail}`;
  log.error(`refusing to deploy ${detail} (${scope}, ALLOWED_SIGNERS=${settings.allowedSigners}). Nothing was stopped. ${ADVICE[bad.verdict]}`);
  return { outcome: 'refused', reason: 'unsigned', detail, commit: bad.sha, notify: !input.dryRun };
}

/** What the operator does about each refusal (README, "Signed releases"). */
export const ADVICE: Record<Verdict, string> = {
  good: '',
  unsigned: 'The release was not signed: ask the subnet owner to sign it (git commit -S) and push again.',
  'not-ssh': 'Ask the subnet owner to sign with an SSH key (git config gpg.format ssh).',
  'unknown-key': 'If this key is the subnet owner\'s new key, confirm it with them out of band and add it to ALLOWED_SIGNERS; otherwise someone else pushed this release.',
  expired: 'The key is past its valid-before: if the owner still uses it, confirm and extend the date in ALLOWED_SIGNERS; else ask them to sign with their current key.',
  'not-yet-valid': 'The key is not valid yet (valid-after): check the date in ALLOWED_SIGNERS with the subnet owner.',
  revoked: 'The key was revoked: do not deploy; tell the subnet owner, who must sign with a key that is not revoked.',
  'bad-signature': 'The commit was altered after signing, or its signature is broken: do not deploy; tell the subnet owner.',
  unverifiable: 'git could not verify the commit: check that git (2.34+) and ssh-keygen (OpenSSH 8.8+) are installed, then run git verify-commit by hand.',
};

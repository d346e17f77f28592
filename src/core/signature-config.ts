import fs from 'node:fs';
import path from 'node:path';
import { parseAllowedSigners, type SignerEntry } from './allowed-signers.js';

export const SIGNATURE_POLICIES = ['tip', 'all'] as const;
export type SignaturePolicy = (typeof SIGNATURE_POLICIES)[number];

/** ALLOWED_SIGNERS, REVOKED_SIGNERS and SIGNATURE_POLICY, validated (DESIGN.md §11). */
export interface SignatureSettings {
  allowedSigners: string;
  revokedSigners?: string;
  policy: SignaturePolicy;
  /** The keys of ALLOWED_SIGNERS, for their validity now (git judges it at the commit's date). */
  entries: SignerEntry[];
}

/**
 * Checks the three keys; every problem goes to `problem` with its key (the config's list, exit 2).
 * undefined when ALLOWED_SIGNERS is not set: no signature policy.
 */
type SignatureKey = 'ALLOWED_SIGNERS' | 'REVOKED_SIGNERS' | 'SIGNATURE_POLICY';

export function signatureSettings(get: (key: SignatureKey) => string | undefined, problem: (text: string, key: SignatureKey) => void): SignatureSettings | undefined {
  const allowed = get('ALLOWED_SIGNERS');
  const revoked = get('REVOKED_SIGNERS');
  const policyRaw = get('SIGNATURE_POLICY');
  let policy: SignaturePolicy = 'tip';
  if (policyRaw !== undefined) {
    if ((SIGNATURE_POLICIES as readonly string[]).includes(policyRaw)) policy = policyRaw as SignaturePolicy;
    else problem(`SIGNATURE_POLICY=${policyRaw} must be tip (check the commit to deploy) or all (every commit from HEAD to it).`, 'SIGNATURE_POLICY');
  }
  if (!allowed) {
    // An operator who wrote these believes releases are checked: say that nothing is.
    if (policyRaw !== undefined) problem('SIGNATURE_POLICY is set but ALLOWED_SIGNERS is not, so no signature is checked; add ALLOWED_SIGNERS=/path/to/allowed_signers (or remove SIGNATURE_POLICY).', 'SIGNATURE_POLICY');
    if (revoked) problem('REVOKED_SIGNERS is set but ALLOWED_SIGNERS is not, so no signature is checked; add ALLOWED_SIGNERS=/path/to/allowed_signers (or remove REVOKED_SIGNERS).', 'REVOKED_SIGNERS');
    return undefined;
  }
  const readable = (key: 'ALLOWED_SIGNERS' | 'REVOKED_SIGNERS', file: string): string | undefined => {
    if (!path.isAbsolute(file)) {
      problem(`${key}=${file} must be an absolute path.`, key);
      return undefined;
    }
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problem(code === 'ENOENT' ? `${key}=${file} does not exist; write it (see README, "Signed releases") or remove ${key}.` : `${key}=${file} cannot be read (${code}); it must be readable by the user the updater runs as.`, key);
      return undefined;
    }
  };
  const text = readable('ALLOWED_SIGNERS', allowed);
  let entries: SignerEntry[] = [];
  if (text !== undefined) {
    const parsed = parseAllowedSigners(text, `ALLOWED_SIGNERS ${allowed}`);
    for (const p of parsed.problems) problem(p, 'ALLOWED_SIGNERS');
    entries = parsed.entries;
  }
  // A KRL or a list of public keys: ssh-keygen reads it; only its presence is ours to check.
  if (revoked) readable('REVOKED_SIGNERS', revoked);
  return { allowedSigners: allowed, ...(revoked ? { revokedSigners: revoked } : {}), policy, entries };
}

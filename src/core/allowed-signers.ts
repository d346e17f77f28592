/**
 * OpenSSH's allowed_signers format (ssh-keygen(1) "ALLOWED SIGNERS"), the file git
 * reads as gpg.ssh.allowedSignersFile: `principals [options] keytype base64-key [comment]`.
 * Parsed here only to reject a broken file at config time (naming the line) and to know
 * each key's validity window now; git and ssh-keygen do the verification itself.
 */
export interface SignerEntry {
  line: number;
  principals: string;
  keyType: string;
  /** `SHA256:<base64 without padding>`, as ssh-keygen and git print it. */
  fingerprint: string;
  certAuthority: boolean;
  namespaces?: string;
  /** ms epoch; undefined when the option is absent. */
  validAfter?: number;
  validBefore?: number;
  validAfterText?: string;
  validBeforeText?: string;
}

const KEY_TYPES = new Set([
  'ssh-ed25519', 'ssh-rsa', 'ssh-dss', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-ed25519-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com',
]);

/** Splits on blanks outside double quotes (options may quote values with commas). */
function fields(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === ' ' || ch === '\t')) {
      if (current) out.push(current);
      current = '';
    } else current += ch;
  }
  if (current) out.push(current);
  return out;
}

/** Comma-separated options, commas inside quotes kept. */
function options(text: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  let current = '';
  let quoted = false;
  const flush = () => {
    const eq = current.indexOf('=');
    const name = (eq < 0 ? current : current.slice(0, eq)).toLowerCase();
    const raw = eq < 0 ? undefined : current.slice(eq + 1);
    out.push([name, raw?.replace(/^"(.*)"$/, '$1')]);
    current = '';
  };
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) flush();
    else current += ch;
  }
  flush();
  return out;
}

/**
 * ssh-keygen's time syntax: YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]; local time unless Z.
 * Returns ms epoch, or undefined when the text is not such a time.
 */
export function parseSshTime(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/i.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 59) return undefined;
  const ms = m[7] ? Date.UTC(year!, month! - 1, day!, hour, minute, second) : new Date(year!, month! - 1, day!, hour, minute, second).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

export function fingerprintOf(base64Key: string): string {
  // Loaded here, not at the top: config.ts imports this file on the timer's no-op path,
  // where node:crypto alone cost ~7 ms; only ALLOWED_SIGNERS needs it.
  const { createHash } = process.getBuiltinModule('node:crypto');
  const digest = createHash('sha256').update(Buffer.from(base64Key, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** Parses the file; `problems` name the line and what is wrong ("<file>:<n>: ..."). */
export function parseAllowedSigners(text: string, source: string): { entries: SignerEntry[]; problems: string[] } {
  const entries: SignerEntry[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const n = index + 1;
    const where = `${source}:${n}`;
    const f = fields(line);
    // The options field is present when the second field is not a key type.
    const hasOptions = f.length > 1 && !KEY_TYPES.has(f[1]!);
    const [principals, opts, keyType, key] = hasOptions ? [f[0], f[1], f[2], f[3]] : [f[0], undefined, f[1], f[2]];
    if (!principals || !keyType || !key) {
      problems.push(`${where}: expected "principals [options] key-type base64-key" (e.g. owner@subnet namespaces="git" ssh-ed25519 AAAA...).`);
      return;
    }
    if (!KEY_TYPES.has(keyType)) {
      problems.push(`${where}: ${keyType} is not an SSH key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...); paste the whole line of the owner's .pub file after the principal.`);
      return;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) {
      problems.push(`${where}: the key after ${keyType} is not base64; paste it unchanged from the owner's .pub file.`);
      return;
    }
    const entry: SignerEntry = { line: n, principals, keyType, fingerprint: fingerprintOf(key), certAuthority: false };
    for (const [name, value] of opts ? options(opts) : []) {
      if (name === 'cert-authority') entry.certAuthority = true;
      else if (name === 'namespaces' && value !== undefined) entry.namespaces = value;
      else if ((name === 'valid-after' || name === 'valid-before') && value !== undefined) {
        const ms = parseSshTime(value);
        if (ms === undefined) problems.push(`${where}: ${name}="${value}" is not a time; use YYYYMMDD or YYYYMMDDHHMM[SS], with Z for UTC (e.g. ${name}="20270101Z").`);
        else if (name === 'valid-after') [entry.validAfter, entry.validAfterText] = [ms, value];
        else [entry.validBefore, entry.validBeforeText] = [ms, value];
      } else problems.push(`${where}: unknown option ${name}${value === undefined ? '' : '=...'}; allowed: namespaces="git", valid-after=..., valid-before=..., cert-authority.`);
    }
    if (entry.namespaces !== undefined && !namespaceAllowsGit(entry.namespaces)) {
      problems.push(`${where}: namespaces="${entry.namespaces}" does not include git, so git never accepts this key; use namespaces="git".`);
    }
    entries.push(entry);
  });
  if (problems.length === 0 && entries.length === 0) problems.push(`${source}: holds no key; add a line such as: owner@subnet namespaces="git" ssh-ed25519 AAAA...`);
  return { entries, problems };
}

/** Whether a namespaces pattern-list admits "git" (patterns with * and ?, ! negates). */
function namespaceAllowsGit(list: string): boolean {
  let allowed = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    if (re.test('git')) {
      if (negated) return false;
      allowed = true;
    }
  }
  return allowed;
}

/** A key's window judged at `nowMs` (the lines of the file holding that key). */
export type KeyWindow = { kind: 'valid' } | { kind: 'expired'; until: string } | { kind: 'not-yet-valid'; from: string } | { kind: 'not-listed' };

export function keyWindowAt(entries: readonly SignerEntry[], fingerprint: string, nowMs: number): KeyWindow {
  const lines = entries.filter((e) => e.fingerprint === fingerprint);
  if (lines.length === 0) return { kind: 'not-listed' };
  let judged: KeyWindow = { kind: 'not-listed' };
  for (const e of lines) {
    if (e.validAfter !== undefined && nowMs < e.validAfter) judged = { kind: 'not-yet-valid', from: e.validAfterText! };
    else if (e.validBefore !== undefined && nowMs > e.validBefore) judged = { kind: 'expired', until: e.validBeforeText! };
    else return { kind: 'valid' };
  }
  return judged;
}

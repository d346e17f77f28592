import { doubleQuote, shellQuote } from './envfile.js';

/**
 * Which values are secrets wherever they are printed (a dry run, a log, status):
 * the keys the toolkit knows to be secret, anything named like a credential, and the
 * user:password part of any URL.
 */
const SECRET_NAMES = new Set(['ALPHACORE_OPENAI_API_KEY', 'OPENAI_API_KEY', 'NOTIFY_WEBHOOK_URL', 'GOOGLE_OAUTH_ACCESS_TOKEN']);
const SECRET_SHAPE = /(?:^|_)(?:TOKEN|KEY|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?)$|(?:^|_)(?:API_KEY|ACCESS_KEY|PRIVATE_KEY)(?:_|$)/;
// File paths named like keys (GCP_CREDS_FILE, ...) are not secrets themselves.
const NOT_SECRET = /_(?:FILE|PATH|DIR)$/;

export function isSecretKey(key: string): boolean {
  const k = key.toUpperCase();
  if (SECRET_NAMES.has(k)) return true;
  return SECRET_SHAPE.test(k) && !NOT_SECRET.test(k);
}

/** `user:pass` (or a lone token before `@`) of a URL-looking value, as written. */
export function urlCredentials(value: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#@\s]+)@/.exec(value.trim());
  return m?.[1];
}

/** Every secret among KEY=value pairs: whole values of secret keys, credentials of URLs. */
export function secretValues(pairs: Iterable<readonly [string, string | undefined]>): string[] {
  const out = new Set<string>();
  for (const [key, value] of pairs) {
    if (!value) continue;
    if (isSecretKey(key)) out.add(value);
    const creds = urlCredentials(value);
    if (creds) out.add(creds);
  }
  return [...out];
}

/** A secret in each form it may take in printed text: raw, shell-quoted, escaped in double quotes, URL-encoded. */
export function secretForms(secret: string): string[] {
  // Too short to mask without blanking ordinary text; real secrets are long.
  if (secret.length < 4) return [];
  const forms = [secret, doubleQuote(secret).slice(1, -1), encodeURIComponent(secret)];
  try {
    forms.push(shellQuote(secret));
  } catch {
    // a value no file can hold is never printed as one
  }
  // Longest first, so that a quoted form is masked whole before its raw core.
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/** Replaces every form of every secret with `***`. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  const forms = [...new Set([...secrets].flatMap(secretForms))].sort((a, b) => b.length - a.length);
  for (const form of forms) out = out.split(form).join('***');
  return out;
}

/**
 * The environment without the secrets the toolkit knows by name, for a process that
 * hands its environment on to PM2 (DESIGN.md §5.7): PM2 copies a started process's
 * environment into dump.pm2 and keeps it in the daemon. The validator reads its key
 * from its env file (0600), which the repo's start script sources. `keep` names the
 * ones a child really needs from its environment (the API's token without a creds file).
 */
export function withoutSecrets<T extends Record<string, string | undefined>>(env: T, keep: readonly string[] = []): T {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) if (!SECRET_NAMES.has(key) || keep.includes(key)) out[key] = value;
  return out as T;
}

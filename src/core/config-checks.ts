import { urlCredentials } from './secrets.js';

/** The value checks of the auto-update config's keys, shared with launch's flags. */

/** Names that become file names and PM2 names: namespace, process. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A commit named by its sha, full or abbreviated (PIN, update --to). */
export const COMMIT_SHA = /^[0-9a-f]{7,40}$/i;

/**
 * Wallet, hotkey and network names become parts of paths and file names
 * (`env/<network>/validator-<wallet>-<hotkey>.env`, the wallet's own folder). Only
 * what breaks a path or a file is refused; spaces and the rest that the bash
 * launcher accepts are kept and quoted wherever they are written (DESIGN.md §4).
 */
export function fileNameProblem(value: string): string | undefined {
  if (/[\n\r]/.test(value)) return 'contains a newline';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'contains a control character';
  if (value.includes('/')) return "contains '/', which would make it a path";
  if (value.startsWith('-')) return "starts with '-', which a program would read as a flag";
  if (value.startsWith('.')) return "starts with '.', which makes a hidden or relative path";
  return undefined;
}
export const GIT_REF = /^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*[/.]$)[A-Za-z0-9][A-Za-z0-9_./-]*$/;

export function parseBytes(text: string): number | undefined {
  const m = /^(\d+)\s*([KMG]i?B?|B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toUpperCase()[0];
  const factor = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(m[1]) * factor;
}

export function isUrl(value: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A value as a message shows it: the credentials of a URL masked, and clipped, so that
 * a 1 MB value or a pasted secret never floods (or leaks into) the terminal and the log.
 */
export function shown(value: string): string {
  const creds = urlCredentials(value);
  const masked = creds ? value.replace(`${creds}@`, '***@') : value;
  return masked.length > 120 ? `${masked.slice(0, 100)}... (${masked.length} characters)` : masked;
}

/** Subnet uids are 16-bit on the chain. */
export const MAX_NETUID = 65535;
export function isNetuid(value: string): boolean {
  return /^\d{1,5}$/.test(value) && Number(value) <= MAX_NETUID;
}

/** The port of a plain-http Validation API endpoint on this machine (loopback or 0.0.0.0), else undefined. */
export function localEndpointPort(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]', '0.0.0.0'].includes(url.hostname)) return undefined;
  return url.port || '80';
}

/**
 * The port to start the Validation API on when VALIDATION_HTTP_PORT does not say: that of
 * a plain-http endpoint on this machine, the one the gate and the health check poll,
 * unless it is the repo script's default 8888. undefined for another host or https (a
 * TLS proxy in front of the API: its port is the proxy's).
 */
export function localApiPort(endpoint: string): string | undefined {
  const port = localEndpointPort(endpoint);
  return port === '8888' ? undefined : port;
}


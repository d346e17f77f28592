import { request } from './http.js';

export interface Notification {
  namespace: string;
  host: string;
  outcome: string;
  reason?: string;
  from?: string;
  to?: string;
  /** One human sentence; shown by Slack (`text`) and Discord (`content`) style hooks. */
  summary: string;
}

export const NOTIFY_TIMEOUT_MS = 5000;

/** The JSON body: `text` and `content` for chat hooks, `alphacore` for machines. */
export function notificationBody(n: Notification): string {
  const text = `[alphacore ${n.host}/${n.namespace}] ${n.summary}`;
  return JSON.stringify({
    text,
    content: text,
    alphacore: { namespace: n.namespace, host: n.host, outcome: n.outcome, reason: n.reason ?? null, from: n.from ?? null, to: n.to ?? null },
  });
}

/**
 * POSTs one notification. Never throws: a failing hook is reported to the caller as
 * a message (without the URL, which is a secret) and never changes the outcome.
 */
export async function sendNotification(url: string, n: Notification, timeoutMs = NOTIFY_TIMEOUT_MS): Promise<string | undefined> {
  const result = await request(url, {
    method: 'POST',
    body: notificationBody(n),
    timeoutMs,
    headers: { 'content-type': 'application/json' },
  });
  if (result.kind === 'error') return `notification not delivered: ${result.message}`;
  if (result.status < 200 || result.status > 299) return `notification not delivered: the webhook answered HTTP ${result.status}`;
  return undefined;
}

import http from 'node:http';
import https from 'node:https';

export type HttpResult =
  | { kind: 'response'; status: number; body: string }
  | { kind: 'error'; message: string };

/** One HTTP request with a hard deadline for the whole exchange (connect + body). */
export function request(
  url: string,
  options: { method?: 'GET' | 'POST'; body?: string; timeoutMs: number; headers?: Record<string, string> },
): Promise<HttpResult> {
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ kind: 'error', message: 'invalid URL' });
      return;
    }
    const lib = parsed.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (result: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = lib.request(
      parsed,
      {
        method: options.method ?? 'GET',
        headers: { accept: 'application/json', ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 1_000_000) chunks.push(chunk);
        });
        res.on('end', () => finish({ kind: 'response', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => finish({ kind: 'error', message: error.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ kind: 'error', message: `no answer within ${options.timeoutMs} ms` });
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'error', message: error.code ?? error.message }));
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

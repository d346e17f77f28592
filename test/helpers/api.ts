import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

export type ApiBehaviour =
  | { active: unknown[] }
  | { status: number; body: string }
  | { hang: true }
  /** Answers the n-th request (0-based) as `answer(n)` says: e.g. idle first, busy after. */
  | { answer: (n: number) => { active: unknown[] } };

export interface FakeApi {
  url: string;
  port: number;
  /** Changes what /validate/active answers from now on. */
  set(behaviour: ApiBehaviour): void;
  requests: { method: string; url: string; body: string }[];
  close(): Promise<void>;
}

const servers: FakeApi[] = [];

/**
 * A real HTTP Validation API on 127.0.0.1 and a free port. It answers
 * /validate/active as told, and records every request (also used as a webhook sink).
 */
export async function startApi(behaviour: ApiBehaviour = { active: [] }): Promise<FakeApi> {
  let current = behaviour;
  const requests: FakeApi['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      if ('hang' in current) return; // never answer
      if ('answer' in current) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(current.answer(requests.filter((r) => r.url === '/validate/active').length - 1)));
        return;
      }
      if ('status' in current) {
        res.writeHead(current.status, { 'content-type': 'application/json' });
        res.end(current.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ active: current.active }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const api: FakeApi = {
    url: `http://127.0.0.1:${port}`,
    port,
    set: (b) => {
      current = b;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(api);
  return api;
}

afterEach(async () => {
  for (const api of servers.splice(0)) await api.close();
});

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { until } from '../helpers/poll.js';
import { statusSetup } from '../helpers/status-setup.js';

// status judges the API as the update does (§5.6): what answers on the API's port is our
// API only when the socket belongs to the API's PM2 process tree.
let root: string;
let daemon: IsolatedPm2;

/** A small API answering /validate/active on `port` (0: any free port). */
function apiScript(port: number): string {
  const file = path.join(root, `api-${port}.cjs`);
  fs.writeFileSync(file, `require('node:http').createServer((q, s) => s.end('{"active":[]}')).listen(${port}, '127.0.0.1');\n`);
  return file;
}

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-status-port-')));
  daemon = isolatedPm2(root);
  daemon.pm2('ping');
});

afterAll(() => {
  daemon.kill();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('status: who holds the Validation API port', () => {
  it('the API under PM2 holds its port: nothing said', async () => {
    const s = await statusSetup({ api: 'closed' });
    daemon.pm2('start', apiScript(Number(new URL(s.apiUrl).port)), '--name', 'alphacore-validation-api', '--namespace', s.namespace);
    const hexPort = Number(new URL(s.apiUrl).port).toString(16).toUpperCase().padStart(4, '0');
    await until(() => fs.readFileSync('/proc/net/tcp', 'utf8').includes(`:${hexPort} 00000000:0000 0A`), { what: 'the API listening', ms: 20_000 });
    const r = await s.status(['--json'], daemon.env);
    expect(r.report.gates.api).toMatchObject({ state: 'idle' });
    expect(r.report.gates.api.portTakenBy).toBeUndefined();
  });

  it('another process answers on the port while the PM2 API runs: named, and the human view says it is not our API', async () => {
    const s = await statusSetup(); // its API is a server in this test process, not under PM2
    daemon.pm2('start', apiScript(0), '--name', 'alphacore-validation-api', '--namespace', s.namespace);
    await until(() => daemon.list().some((p) => p.namespace === s.namespace && p.status === 'online'), { what: 'the PM2 API online', ms: 20_000 });
    const api = daemon.list().find((p) => p.namespace === s.namespace)!;
    const r = await s.status(['--json'], daemon.env);
    const me = os.userInfo().username;
    expect(r.report.gates.api).toMatchObject({ state: 'idle', portTakenBy: `pid ${process.pid} (user ${me}), not by alphacore-validation-api (pid ${api.pid})` });
    const human = await s.status([], daemon.env);
    expect(human.stdout).toContain(`its port is held by pid ${process.pid} (user ${me}), not by alphacore-validation-api (pid ${api.pid}): that is not our Validation API`);
  });
});

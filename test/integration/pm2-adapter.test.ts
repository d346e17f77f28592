import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPm2, type Pm2 } from '../../src/adapters/pm2.js';
import { pm2DaemonLink, pm2PackageRoot } from '../../src/adapters/pm2-daemon.js';
import { testContext } from '../helpers/context.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import net from 'node:net';
import os from 'node:os';
import { until } from '../helpers/poll.js';

// One daemon for the file (starting PM2 takes seconds); each test uses its own names.
let root: string;
let daemon: IsolatedPm2;
let pm2: Pm2;
let script: string;

const context = (env: Record<string, string>) => testContext(env, root);

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-pm2-it-')));
  daemon = isolatedPm2(root);
  script = path.join(root, 'service.sh');
  // Records the env it got, then stays up.
  fs.writeFileSync(script, '#!/usr/bin/env bash\necho "$MARK" > "$OUT_DIR/$MARK"\nexec sleep 600\n', { mode: 0o755 });
  pm2 = openPm2(context({ HOME: root, ...daemon.env }));
});

afterAll(() => {
  daemon.kill();
  fs.rmSync(root, { recursive: true, force: true });
});

const start = (name: string, namespace: string) =>
  pm2.startApp({ name, namespace, script, interpreter: 'bash', cwd: root, env: { MARK: `${namespace}-${name}`, OUT_DIR: root } });

describe('pm2 adapter against the real pm2 (isolated PM2_HOME)', () => {
  it('available: ok with the devDependency, a clear detail without pm2', async () => {
    expect(await pm2.available()).toMatchObject({ ok: true, detail: expect.stringMatching(/^pm2 \d+\.\d+/) });
    const missing = await openPm2(context({ HOME: root, PM2_HOME: daemon.home, PATH: '/usr/bin:/bin', PM2_BIN: path.join(root, 'no-pm2') })).available();
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain('not found');
  });

  it('startApp: runs the script under the interpreter, in the namespace, with the env given', async () => {
    await start('svc-start', 'ns-start');
    expect(await until(() => (fs.existsSync(path.join(root, 'ns-start-svc-start')) ? fs.readFileSync(path.join(root, 'ns-start-svc-start'), 'utf8') : undefined))).toBe('ns-start-svc-start\n');
    const [proc] = await pm2.list('ns-start');
    expect(proc).toMatchObject({ name: 'svc-start', namespace: 'ns-start', status: 'online', script, cwd: root });
    expect(proc!.pid).toBeGreaterThan(0);
    expect(proc!.env?.MARK).toBe('ns-start-svc-start');
    expect(proc!.uptimeSince).toBeGreaterThan(Date.now() - 60_000);
  });

  it('list: all processes, or one namespace only', async () => {
    await start('svc-list', 'ns-list-a');
    await start('svc-list', 'ns-list-b');
    expect((await pm2.list('ns-list-a')).map((p) => `${p.namespace}/${p.name}`)).toEqual(['ns-list-a/svc-list']);
    const all = (await pm2.list()).map((p) => `${p.namespace}/${p.name}`);
    expect(all).toEqual(expect.arrayContaining(['ns-list-a/svc-list', 'ns-list-b/svc-list']));
    expect(daemon.list().length).toBe(all.length);
  });

  it('stopNamespace: stops only that namespace; a process in another namespace keeps running (same pid)', async () => {
    await start('svc-a', 'ns-stop');
    await start('svc-b', 'ns-stop');
    await start('svc-a', 'ns-keep');
    const keepBefore = (await pm2.list('ns-keep'))[0]!;
    const stopped = await pm2.stopNamespace('ns-stop');
    expect(stopped.sort()).toEqual(['svc-a', 'svc-b']);
    expect((await pm2.list('ns-stop')).map((p) => p.status)).toEqual(['stopped', 'stopped']);
    const keepAfter = (await pm2.list('ns-keep'))[0]!;
    expect(keepAfter).toMatchObject({ status: 'online', pid: keepBefore.pid, restarts: keepBefore.restarts });
    expect(await pm2.stopNamespace('ns-empty')).toEqual([]);
  });

  it('deleteProcess: deletes the name in that namespace only', async () => {
    await start('svc-del', 'ns-del-a');
    await start('svc-del', 'ns-del-b');
    expect(await pm2.deleteProcess('svc-del', 'ns-del-a')).toBe(true);
    expect(await pm2.list('ns-del-a')).toEqual([]);
    expect((await pm2.list('ns-del-b')).map((p) => p.status)).toEqual(['online']);
    expect(await pm2.deleteProcess('svc-del', 'ns-del-a')).toBe(false);
  });

  it('save: writes the dump PM2 restores at boot', async () => {
    await start('svc-save', 'ns-save');
    await pm2.save();
    const dump = JSON.parse(fs.readFileSync(path.join(daemon.home, 'dump.pm2'), 'utf8')) as { name: string; namespace: string }[];
    expect(dump.some((p) => p.name === 'svc-save' && p.namespace === 'ns-save')).toBe(true);
  });

  it('a failing verb is an OperationError naming pm2 and the verb', async () => {
    const broken = openPm2(context({ HOME: root, PM2_HOME: daemon.home, PATH: '/usr/bin:/bin', PM2_BIN: '/bin/false' }));
    await expect(broken.list()).rejects.toThrow(/pm2 jlist failed/);
  });
});

describe('pm2 adapter through the daemon\'s socket (the update\'s swap)', () => {
  // The CLI of this adapter is /bin/false: whatever succeeds went through the socket.
  const viaSocket = () => {
    const ctx = context({ HOME: root, ...daemon.env });
    const link = pm2DaemonLink(ctx, 'pm2');
    const pm2 = openPm2({ ...ctx, env: { ...ctx.env, PM2_BIN: '/bin/false' } }, { daemon: link });
    return { link, pm2 };
  };

  it('finds the pm2 package the program on PATH belongs to', () => {
    const rootDir = pm2PackageRoot('pm2', daemon.env.PATH);
    expect(rootDir).toBeDefined();
    expect(JSON.parse(fs.readFileSync(path.join(rootDir!, 'package.json'), 'utf8')).name).toBe('pm2');
    expect(pm2PackageRoot('/bin/false', daemon.env.PATH)).toBeUndefined();
  });

  it('lists, stops a namespace and deletes by id over one connection, other namespaces untouched', async () => {
    await start('svc-a', 'ns-rpc');
    await start('svc-b', 'ns-rpc');
    await start('svc-a', 'ns-rpc-keep');
    const keepBefore = (await pm2.list('ns-rpc-keep'))[0]!;
    const { link, pm2: rpc } = viaSocket();
    try {
      expect(await rpc.available()).toMatchObject({ ok: true, detail: expect.stringMatching(/^pm2 \d+\.\d+\.\d+ daemon$/) });
      expect((await rpc.list('ns-rpc')).map((p) => `${p.name}:${p.status}`).sort()).toEqual(['svc-a:online', 'svc-b:online']);
      expect((await rpc.stopNamespace('ns-rpc')).sort()).toEqual(['svc-a', 'svc-b']);
      expect((await pm2.list('ns-rpc')).map((p) => p.status)).toEqual(['stopped', 'stopped']);
      expect(await rpc.deleteProcess('svc-a', 'ns-rpc')).toBe(true);
      expect((await pm2.list('ns-rpc')).map((p) => p.name)).toEqual(['svc-b']);
      expect((await rpc.deleteNamespace('ns-rpc')).sort()).toEqual(['svc-b']);
      expect(await pm2.list('ns-rpc')).toEqual([]);
      expect((await pm2.list('ns-rpc-keep'))[0]).toMatchObject({ status: 'online', pid: keepBefore.pid, restarts: keepBefore.restarts });
      expect(await rpc.pollMs()).toBeLessThan(500);
      expect(link.why()).toBeUndefined();
    } finally {
      link.close();
    }
    // Closed: the adapter falls back to its CLI (here /bin/false), it does not reconnect.
    const { pm2: after } = viaSocket();
    expect((await after.list('ns-rpc-keep')).length).toBe(1);
  });

  it('a process deleted between the list and its stop (a script of a killed run) is no failure, and keeps the connection', async () => {
    await start('svc-gone', 'ns-race');
    await start('svc-stay', 'ns-race');
    const ctx = context({ HOME: root, ...daemon.env });
    const real = pm2DaemonLink(ctx, 'pm2');
    let deleted = false;
    // The real daemon; just before the first stop another client deletes that process.
    const link = {
      ...real,
      get: async () => {
        const d = await real.get();
        return d && {
          ...d,
          call: async <T>(method: string, arg: unknown, timeoutMs?: number): Promise<T> => {
            if (method === 'stopProcessId' && !deleted) {
              deleted = true;
              daemon.pm2('delete', String(arg));
            }
            return d.call<T>(method, arg, timeoutMs);
          },
        };
      },
    };
    const rpc = openPm2({ ...ctx, env: { ...ctx.env, PM2_BIN: '/bin/false' } }, { daemon: link });
    try {
      expect((await rpc.stopNamespace('ns-race')).sort()).toEqual(['svc-gone', 'svc-stay']);
      expect(deleted).toBe(true);
      expect((await pm2.list('ns-race')).map((p) => `${p.name}:${p.status}`)).toEqual(['svc-stay:stopped']);
      expect(real.why()).toBeUndefined();
    } finally {
      real.close();
    }
  });

  it('never starts a daemon: without one it says why and the CLI is used', async () => {
    const home = fs.mkdtempSync(path.join(root, 'no-daemon-'));
    const ctx = context({ HOME: root, PATH: daemon.env.PATH, PM2_HOME: home });
    const link = pm2DaemonLink(ctx, 'pm2');
    expect(await link.get()).toBeUndefined();
    expect(link.why()).toContain(`no PM2 daemon socket at ${path.join(home, 'rpc.sock')}`);
    expect(fs.readdirSync(home)).toEqual([]);
    // A socket file left by a daemon that died (kill -9): refused at once, nothing started.
    const stale = path.join(home, 'rpc.sock');
    await new Promise<void>((resolve) => {
      const server = net.createServer().listen(stale, () => server.close(() => resolve()));
    });
    fs.writeFileSync(stale, '');
    const again = pm2DaemonLink(ctx, 'pm2');
    expect(await again.get()).toBeUndefined();
    expect(again.why()).toMatch(/did not answer/);
    expect(fs.existsSync(path.join(home, 'pm2.pid'))).toBe(false);
    const cli = openPm2({ ...ctx, env: { ...ctx.env, PM2_BIN: '/bin/false' } }, { daemon: again });
    await expect(cli.list()).rejects.toThrow(/pm2 jlist failed/);
    expect(await cli.pollMs()).toBe(500);
  });
});

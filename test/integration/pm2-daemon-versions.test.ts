import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPm2 } from '../../src/adapters/pm2.js';
import { pm2DaemonLink } from '../../src/adapters/pm2-daemon.js';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';

/**
 * The update's connection to PM2's daemon uses the RPC client inside the operator's own
 * pm2 package. pm2 7 (our devDependency) vendors it under modules/; pm2 6, which many
 * validator machines run, depends on pm2-axon instead. This file installs the newest pm2
 * 6 from the npm registry (CI has it) into a temp prefix, starts a real pm2 6 daemon, and
 * drives it with both packages: same version, and the skew of an npm upgrade without
 * `pm2 update` (a pm2 7 client against the pm2 6 daemon).
 */
let root: string;
let pm2v6: string | undefined;
let daemon: IsolatedPm2;
let why = '';

const context = (env: Record<string, string>) => testContext(env, root);

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-pm2-v6-')));
  const prefix = path.join(root, 'pm2-6');
  // Its own cache and HOME (never the machine's npm cache); the rest of the environment
  // as it is (a CA bundle or proxy the machine needs to reach the registry).
  const install = spawnSync('npm', ['install', '--prefix', prefix, 'pm2@6', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', '--cache', path.join(root, 'npm-cache')], {
    env: { ...process.env, HOME: root },
    encoding: 'utf8',
    timeout: 150_000,
  });
  if (install.status !== 0) {
    why = `npm could not install pm2@6 (no npm registry?): ${(install.stderr || install.error?.message || '').trim().split('\n').at(-1)}`;
    return;
  }
  pm2v6 = path.join(prefix, 'node_modules', '.bin', 'pm2');
  daemon = isolatedPm2(root, { packageRoot: prefix });
  fs.writeFileSync(path.join(root, 'svc.sh'), '#!/usr/bin/env bash\nexec sleep 600\n', { mode: 0o755 });
  for (const name of ['a', 'b']) daemon.pm2('start', path.join(root, 'svc.sh'), '--name', `svc-${name}`, '--namespace', 'ns6', '--interpreter', 'bash');
  daemon.pm2('start', path.join(root, 'svc.sh'), '--name', 'other', '--namespace', 'elsewhere', '--interpreter', 'bash');
}, 200_000);

afterAll(() => {
  daemon?.kill();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('the daemon connection with a pm2 6 daemon (pm2-axon as a dependency)', () => {
  it('pm2 6 client, pm2 6 daemon: lists and stops the namespace over the socket', async (t) => {
    if (!pm2v6) {
      console.log(`skipped: ${why}`);
      return t.skip();
    }
    const version = JSON.parse(fs.readFileSync(path.join(root, 'pm2-6', 'node_modules', 'pm2', 'package.json'), 'utf8')).version as string;
    expect(version).toMatch(/^6\./);
    const ctx = context({ HOME: root, PM2_HOME: daemon.home, PATH: daemon.env.PATH });
    const link = pm2DaemonLink(ctx, pm2v6);
    // PM2_BIN=/bin/false: what succeeds went through the socket.
    const pm2 = openPm2({ ...ctx, env: { ...ctx.env, PM2_BIN: '/bin/false' } }, { daemon: link });
    try {
      const d = await link.get();
      expect(d, link.why()).toBeDefined();
      expect(d).toMatchObject({ daemonVersion: version, clientVersion: version });
      expect((await pm2.list('ns6')).map((p) => `${p.name}:${p.status}`).sort()).toEqual(['svc-a:online', 'svc-b:online']);
      const pidElsewhere = (await pm2.list('elsewhere'))[0]!.pid;
      expect((await pm2.stopNamespace('ns6')).sort()).toEqual(['svc-a', 'svc-b']);
      expect(daemon.list().filter((p) => p.namespace === 'ns6').map((p) => p.status)).toEqual(['stopped', 'stopped']);
      expect(daemon.list().find((p) => p.namespace === 'elsewhere')).toMatchObject({ status: 'online', pid: pidElsewhere });
    } finally {
      link.close();
    }
    daemon.pm2('restart', 'svc-a', 'svc-b');
  });

  it('pm2 7 client against the pm2 6 daemon (npm upgraded without pm2 update): works, and says so', async (t) => {
    if (!pm2v6) {
      console.log(`skipped: ${why}`);
      return t.skip();
    }
    const ctx = context({ HOME: root, PM2_HOME: daemon.home, PATH: daemon.env.PATH });
    const link = pm2DaemonLink(ctx, path.join(PROJECT_ROOT, 'node_modules', '.bin', 'pm2'));
    const pm2 = openPm2({ ...ctx, env: { ...ctx.env, PM2_BIN: '/bin/false' } }, { daemon: link });
    try {
      const available = await pm2.available();
      expect(available.ok).toBe(true);
      expect(available.detail).toMatch(/^pm2 6\.\S+ daemon \(the pm2 package on PATH is 7\.\S+: run pm2 update when no round runs\)$/);
      expect(await pm2.deleteProcess('svc-b', 'ns6')).toBe(true);
      expect(daemon.list().filter((p) => p.namespace === 'ns6').map((p) => p.name)).toEqual(['svc-a']);
    } finally {
      link.close();
    }
  });
});

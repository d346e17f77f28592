import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { descendsFrom, endProcesses, findOrphans, namespaceProcesses, running } from '../../src/adapters/pm2-orphans.js';

// Real processes carrying the environment PM2 gives its apps (namespace, name, pm_id,
// pm_pid_path under PM2_HOME/pids), as /proc shows them.
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.pid && running(c.pid)) c.kill('SIGKILL');
});

function app(home: string, namespace: string, name: string, code = 'setInterval(() => {}, 1000)'): ChildProcess {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', namespace, name, pm_id: '0', pm_pid_path: path.join(home, 'pids', `${name}-0.pid`) };
  const child = spawn(process.execPath, ['-e', code], { env, stdio: 'ignore' });
  started.push(child);
  return child;
}

const until = async (probe: () => boolean) => {
  for (let i = 0; i < 100 && !probe(); i += 1) await new Promise((r) => setTimeout(r, 50));
};

describe('pm2-orphans: the namespace\'s processes from /proc, ended by pid', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-orphans-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('finds the processes of one namespace under one PM2 home, children included, and no other', async () => {
    // A child that starts a grandchild: the grandchild inherits the environment.
    const parent = app(home, 'orph-ns', 'orph-validator', "require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000)");
    const other = app(home, 'orph-other', 'orph-validator');
    const elsewhere = app(path.join(home, 'elsewhere'), 'orph-ns', 'orph-validator');
    await until(() => namespaceProcesses(home, 'orph-ns').length >= 2);
    const found = namespaceProcesses(home, 'orph-ns');
    expect(found.map((p) => p.pid)).toContain(parent.pid);
    expect(found).toHaveLength(2);
    expect(found.every((p) => p.name === 'orph-validator')).toBe(true);
    expect(found.map((p) => p.pid)).not.toContain(other.pid);
    expect(found.map((p) => p.pid)).not.toContain(elsewhere.pid);
    // Under a live "daemon" (this test process is their ancestor) they are supervised; without one, orphans.
    expect(descendsFrom(parent.pid!, process.pid)).toBe(true);
    expect(findOrphans(home, 'orph-ns', process.pid)).toEqual([]);
    expect(findOrphans(home, 'orph-ns', undefined)).toHaveLength(2);
    const grandchild = found.find((p) => p.pid !== parent.pid)!.pid;
    expect(await endProcesses(found.map((p) => p.pid), () => Date.now())).toEqual([]);
    expect(running(parent.pid!)).toBe(false);
    expect(running(grandchild)).toBe(false);
    expect(running(other.pid!)).toBe(true);
  });

  it('a process that ignores SIGTERM is killed after the grace', async () => {
    const stubborn = app(home, 'orph-stubborn', 'orph-api', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)");
    await until(() => namespaceProcesses(home, 'orph-stubborn').length === 1);
    await new Promise((r) => setTimeout(r, 200)); // its handler is installed
    expect(await endProcesses([stubborn.pid!], () => Date.now(), 300)).toEqual([]);
    expect(running(stubborn.pid!)).toBe(false);
  });
});

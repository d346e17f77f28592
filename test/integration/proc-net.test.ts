import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listeners, portHolder, processTree } from '../../src/adapters/proc-net.js';
import { isAlive } from '../../src/adapters/lock.js';
import { closedPort } from '../helpers/api.js';
import { stage } from '../helpers/user.js';

/** An account of this file only: the stranger who holds a port. */
const STRANGER = 'alphacore-procnet';
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('proc-net: skipping the other-account case: not root, so no throwaway account can be created');

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    // By pid (and its group, which the wrapper's grandchild shares): never by name.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    // Waited for: userdel refuses an account that still has a process.
    await gone;
  }
});
afterAll(() => {
  if (isRoot) execFileSync('userdel', ['--remove', STRANGER], { stdio: 'ignore' });
});

const SERVER = `const net = require('node:net');
const [host, port] = [process.argv[1], Number(process.argv[2])];
net.createServer(() => undefined).listen(port, host, () => console.log('listening ' + process.pid));`;

/** Starts `argv` in its own process group; resolves once a line says "listening <pid>". */
async function listening(file: string, args: string[], options: { uid?: number; gid?: number } = {}): Promise<{ child: ChildProcess; holderPid: number }> {
  const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'], ...options });
  started.push(child);
  const holderPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
  });
  return { child, holderPid };
}

const server = (host: string, port: number) => [process.execPath, ['-e', SERVER, host, String(port)]] as const;

describe('proc-net: who listens on a port, from /proc (real sockets)', () => {
  it('a free port is free; a node server in a child process is held by that child', async () => {
    const port = await closedPort();
    expect(portHolder(port, process.pid)).toEqual({ kind: 'free' });
    const { child, holderPid } = await listening(...server('127.0.0.1', port));
    expect(holderPid).toBe(child.pid);
    expect(listeners(port)).toEqual([expect.objectContaining({ port, family: 4, uid: process.getuid!() })]);
    expect(portHolder(port, child.pid)).toEqual({ kind: 'ours', pid: child.pid });
  });

  it('a grandchild holding the port belongs to the tree of the process that started it', async () => {
    const port = await closedPort();
    const [node, args] = server('::1', port);
    // bash stays the parent (no exec): the listener is its child, the test's grandchild.
    const quoted = [node, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const { child, holderPid } = await listening('bash', ['-c', `${quoted} & wait`]);
    expect(holderPid).not.toBe(child.pid);
    expect(processTree(child.pid!)).toContain(holderPid);
    expect(listeners(port)).toEqual([expect.objectContaining({ family: 6 })]);
    expect(portHolder(port, child.pid)).toEqual({ kind: 'ours', pid: holderPid });
    // Seen from a process outside that tree, the same socket is someone else's: pid and user named.
    const bystander = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    started.push(bystander);
    const me = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    expect(portHolder(port, bystander.pid)).toEqual({ kind: 'other', pid: holderPid, uid: process.getuid!(), user: me });
  });

  it.skipIf(!isRoot)('a port held by another account: pid and user as root; uid and user only for a user who cannot read its fds', async () => {
    try {
      execFileSync('id', ['-u', STRANGER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', STRANGER], { stdio: 'ignore' });
    }
    const uid = Number(execFileSync('id', ['-u', STRANGER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', STRANGER], { encoding: 'utf8' }).trim());
    const port = await closedPort();
    const { holderPid } = await listening(...server('0.0.0.0', port), { uid, gid });
    const mine = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    started.push(mine);
    expect(portHolder(port, mine.pid)).toEqual({ kind: 'other', pid: holderPid, uid, user: STRANGER });
    // As an ordinary user (the stage's throwaway account), the stranger's fds are closed:
    // /proc/net/tcp still gives the uid, hence the name.
    const staged = stage();
    if (!staged.ready) {
      console.log(`skipping the unprivileged half: ${staged.skip}`);
      return;
    }
    const module = pathToFileURL(path.join(staged.ready.packageRoot, 'dist', 'adapters', 'proc-net.js')).href;
    expect(fs.existsSync(new URL(module))).toBe(true);
    const seen = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(module)}); console.log(JSON.stringify(m.portHolder(${port}, ${mine.pid})));`], {
      uid: staged.ready.user.uid,
      gid: staged.ready.user.gid,
      cwd: '/',
      encoding: 'utf8',
    });
    expect(JSON.parse(seen)).toEqual({ kind: 'other', uid, user: STRANGER });
    expect(isAlive(holderPid)).toBe(true);
  });

});

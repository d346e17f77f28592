import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { pm2Home } from './pm2-home.js';
import { findProgram } from './programs.js';

/**
 * One RPC connection to the operator's running PM2 daemon (the socket its CLI uses,
 * `$PM2_HOME/rpc.sock`), through the RPC client of the operator's own pm2 package (the
 * one `pm2` on PATH, or PM2_BIN, belongs to): the same code and protocol version as
 * their CLI. Each `pm2` CLI call costs a Node start plus a connect (~0.2-0.3 s); a call
 * here costs a few ms, which is what the update's stop, relaunch and health polling
 * need between the stop and the validator's start (DESIGN.md §5.4's downtime).
 *
 * It never starts a daemon: without a live one (or when the package cannot be found,
 * e.g. PM2_BIN is a wrapper script) `open()` says why and the caller keeps using the
 * CLI, which behaves as before.
 */
export interface Pm2Daemon {
  /** The daemon's version and the pm2 package's; they differ after an npm upgrade without `pm2 update`. */
  readonly daemonVersion: string;
  readonly clientVersion: string;
  call<T>(method: string, arg: unknown, timeoutMs?: number): Promise<T>;
}

/** A lazily opened connection shared by everything of one run; closed once at its end. */
export interface Pm2DaemonLink {
  /** The connection, opened on first use; undefined when there is none (see `why`). */
  get(): Promise<Pm2Daemon | undefined>;
  /** Why there is no connection (or why it was given up), for the log. */
  why(): string | undefined;
  /** Gives the connection up after a failed call: the CLI does the rest of the run. */
  drop(reason: string): void;
  close(): void;
}

const CONNECT_MS = 2_000;
const CALL_MS = 10_000;

interface AxonSocket {
  set(key: string, value: unknown): void;
  connect(address: string): void;
  close(): void;
  once(event: string, fn: (arg?: unknown) => void): void;
  socks?: Array<{ unref?: () => void }>;
}
interface RpcClient {
  call(method: string, arg: unknown, fn: (err: Error | null, result?: unknown) => void): void;
}
interface AxonModules {
  axon: { socket(type: 'req'): AxonSocket };
  rpc: { Client: new (sock: AxonSocket) => RpcClient };
}

/** The pm2 package a program belongs to: its real path, up to the folder whose package.json is pm2's. */
export function pm2PackageRoot(bin: string, envPath: string | undefined, cwd = '/'): string | undefined {
  const found = findProgram(bin, envPath, cwd);
  if (!found) return undefined;
  let dir = path.dirname(fs.realpathSync(found));
  for (let i = 0; i < 4; i += 1, dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'pm2') return dir;
    } catch {
      // no package.json at this level
    }
  }
  return undefined;
}

/** The axon RPC client inside that package: vendored under modules/ (pm2 >= 6) or a dependency (older). */
function loadAxon(root: string): { modules: AxonModules; version: string } | undefined {
  const req = createRequire(path.join(root, 'package.json'));
  const version = (req('./package.json') as { version: string }).version;
  for (const [axon, rpc] of [
    ['./modules/pm2-axon', './modules/pm2-axon-rpc'],
    ['pm2-axon', 'pm2-axon-rpc'],
  ] as const) {
    try {
      return { modules: { axon: req(axon) as AxonModules['axon'], rpc: req(rpc) as AxonModules['rpc'] }, version };
    } catch {
      // try the other layout
    }
  }
  return undefined;
}

/** Timers of calls in flight: close() cancels them, so a closed link never holds the process open. */
type Pending = Set<() => void>;

function connect(modules: AxonModules, socketFile: string, timeoutMs: number, pending: Pending): Promise<{ sock: AxonSocket; client: RpcClient }> {
  const sock = modules.axon.socket('req');
  // No reconnect loop: a daemon that goes away fails the pending call (its timeout).
  sock.set('retry timeout', 0);
  const client = new modules.rpc.Client(sock);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pending.delete(cancel);
      sock.close();
      reject(new Error(why));
    };
    const cancel = () => fail('closed');
    pending.add(cancel);
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pending.delete(cancel);
      // A run that forgot to close must still exit: the socket alone never keeps it alive.
      for (const s of sock.socks ?? []) s.unref?.();
      resolve({ sock, client });
    });
    sock.once('socket error', (e) => fail((e as Error).message));
    sock.once('error', (e) => fail((e as Error).message));
    sock.once('close', () => fail('the socket closed'));
    sock.connect(socketFile);
  });
}

/** The daemon did not answer at all (hung, gone): unlike an error it answered with, the connection is no use. */
export class Pm2DaemonSilent extends Error {}

function callWith(client: RpcClient, method: string, arg: unknown, timeoutMs: number, pending: Pending): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      pending.delete(cancel);
      fn();
    };
    const cancel = () => finish(() => reject(new Pm2DaemonSilent(`the connection to the PM2 daemon was closed before it answered ${method}`)));
    pending.add(cancel);
    const timer = setTimeout(() => finish(() => reject(new Pm2DaemonSilent(`the PM2 daemon did not answer ${method} within ${timeoutMs} ms`))), timeoutMs);
    client.call(method, arg, (err, result) => finish(() => (err ? reject(err) : resolve(result))));
  });
}

/**
 * A link to the daemon of `ctx`'s PM2_HOME, opened on first use, never spawning one.
 * `connectMs` bounds the connect and the version question (status passes its budget).
 */
export function pm2DaemonLink(ctx: Context, bin: string, options: { connectMs?: number } = {}): Pm2DaemonLink {
  const connectMs = options.connectMs ?? CONNECT_MS;
  const pending: Pending = new Set();
  let opened: Promise<Pm2Daemon | undefined> | undefined;
  let sock: AxonSocket | undefined;
  let why: string | undefined;
  let dropped = false;
  const open = async (): Promise<Pm2Daemon | undefined> => {
    const socketFile = path.join(pm2Home(ctx), 'rpc.sock');
    if (!fs.existsSync(socketFile)) {
      why = `no PM2 daemon socket at ${socketFile}`;
      return undefined;
    }
    const root = pm2PackageRoot(bin, ctx.env.PATH, ctx.cwd);
    const loaded = root ? loadAxon(root) : undefined;
    if (!loaded) {
      why = `no pm2 package found for ${bin}`;
      return undefined;
    }
    try {
      const c = await connect(loaded.modules, socketFile, connectMs, pending);
      sock = c.sock;
      const daemonVersion = String(await callWith(c.client, 'getVersion', {}, connectMs, pending));
      return {
        daemonVersion,
        clientVersion: loaded.version,
        call: async <T>(method: string, arg: unknown, timeoutMs = CALL_MS) => (await callWith(c.client, method, arg, timeoutMs, pending)) as T,
      };
    } catch (error) {
      sock?.close();
      sock = undefined;
      why = `the PM2 daemon at ${socketFile} did not answer (${(error as Error).message})`;
      return undefined;
    }
  };
  const shut = () => {
    dropped = true;
    sock?.close();
    sock = undefined;
    for (const cancel of [...pending]) cancel();
  };
  return {
    get: () => (dropped ? Promise.resolve(undefined) : (opened ??= open())),
    why: () => why,
    drop(reason) {
      why = reason;
      shut();
    },
    close: shut,
  };
}

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { userBus } from '../../src/adapters/user-bus.js';
import { tempDir } from '../helpers/tmp.js';

/** Real unix sockets in a temp "/run/user": what systemctl --user connects to. */
const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});
async function socket(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(file, resolve));
}
const uid = process.getuid!();

describe('userBus: how systemctl --user reaches the user manager from this session', () => {
  it("a session's own XDG_RUNTIME_DIR is used as it is", () => {
    const own = tempDir('alphacore-bus-');
    const env = { XDG_RUNTIME_DIR: own, HOME: '/h' };
    expect(userBus(env, uid, '/nonexistent')).toEqual({ env, source: 'session' });
  });

  it('no XDG_RUNTIME_DIR (su -, sudo -iu): the manager socket in /run/user/<uid> is found', async () => {
    const run = tempDir('alphacore-bus-');
    await socket(path.join(run, String(uid), 'systemd', 'private'));
    const found = userBus({ HOME: '/h', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/elsewhere' }, uid, run);
    expect(found.source).toBe('found');
    expect(found.env).toEqual({ HOME: '/h', XDG_RUNTIME_DIR: path.join(run, String(uid)) });
  });

  it('with a D-Bus session bus there, DBUS_SESSION_BUS_ADDRESS points at it; root\'s XDG_RUNTIME_DIR is replaced', async () => {
    const run = tempDir('alphacore-bus-');
    await socket(path.join(run, String(uid), 'bus'));
    const found = userBus({ XDG_RUNTIME_DIR: '/nonexistent/0' }, uid, run);
    expect(found).toMatchObject({ source: 'found', env: { XDG_RUNTIME_DIR: path.join(run, String(uid)), DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(run, String(uid), 'bus')}` } });
  });

  it('a plain file where the socket should be, or another owner, is not a manager: none, with why', () => {
    const run = tempDir('alphacore-bus-');
    fs.mkdirSync(path.join(run, String(uid), 'systemd'), { recursive: true });
    fs.writeFileSync(path.join(run, String(uid), 'systemd', 'private'), '');
    const none = userBus({ HOME: '/h' }, uid, run);
    expect(none.source).toBe('none');
    expect(none.env).toEqual({ HOME: '/h' });
    expect(none.why).toContain('this session has no XDG_RUNTIME_DIR');
    expect(userBus({ HOME: '/h' }, uid + 1, run).source).toBe('none');
  });
});

import fs from 'node:fs';
import path from 'node:path';

/** How `systemctl --user` reaches this user's manager from the current session. */
export interface UserBus {
  /** The environment for systemctl --user (the session's, or with the user's runtime dir set). */
  env: Readonly<Record<string, string | undefined>>;
  /** session: the session's own XDG_RUNTIME_DIR; found: the user's runtime dir, found under /run/user; none: neither. */
  source: 'session' | 'found' | 'none';
  /** Why no manager can be reached from here (source none). */
  why?: string;
}

function ownedBy(file: string, uid: number, kind: 'dir' | 'socket'): boolean {
  try {
    const st = fs.lstatSync(file);
    return st.uid === uid && (kind === 'dir' ? st.isDirectory() : st.isSocket());
  } catch {
    return false;
  }
}

/**
 * `systemctl --user` finds the manager through XDG_RUNTIME_DIR (its systemd/private
 * socket, or the D-Bus `bus` socket). A shell from `su - <user>` or `sudo -iu <user>`
 * has no XDG_RUNTIME_DIR, or root's: systemctl then fails, though the user's manager
 * runs and its timers fire. The manager's sockets live in /run/user/<uid>; they are
 * used only when that folder and the socket belong to this user (nobody else can plant
 * them there), which is what `systemctl --user --machine=<user>@` finds through systemd.
 */
export function userBus(env: Readonly<Record<string, string | undefined>>, uid: number, runRoot = '/run/user'): UserBus {
  const given = env.XDG_RUNTIME_DIR;
  if (given && ownedBy(given, uid, 'dir')) return { env, source: 'session' };
  const dir = path.join(runRoot, String(uid));
  const bus = path.join(dir, 'bus');
  const haveBus = ownedBy(bus, uid, 'socket');
  if (ownedBy(dir, uid, 'dir') && (haveBus || ownedBy(path.join(dir, 'systemd', 'private'), uid, 'socket'))) {
    const found: Record<string, string | undefined> = { ...env, XDG_RUNTIME_DIR: dir };
    if (haveBus) found.DBUS_SESSION_BUS_ADDRESS = `unix:path=${bus}`;
    else delete found.DBUS_SESSION_BUS_ADDRESS;
    return { env: found, source: 'found' };
  }
  const why = given
    ? `XDG_RUNTIME_DIR=${given} is not this user's, and ${dir} has no systemd user manager socket of this user`
    : `this session has no XDG_RUNTIME_DIR (su/sudo -i sessions have none), and ${dir} has no systemd user manager socket of this user`;
  return { env, source: 'none', why };
}

import fs from 'node:fs';

/** Who owns a file the validator's user made (the config, the deploy clone), when root asks. */
export interface FileOwner {
  uid: number;
  /** The login name, when /etc/passwd has the uid. */
  user?: string;
  /** The path that told. */
  path: string;
}

/**
 * The first of `paths` that exists and belongs to a user other than root. Read-only
 * and without a subprocess: status must stay within its 2 s and metrics is synchronous.
 * The name comes from /etc/passwd (the validator's user is a local account: `pm2
 * startup` and `loginctl enable-linger` need one); an account only NSS knows shows as
 * its uid.
 */
export function nonRootOwner(paths: readonly (string | undefined)[], passwd = '/etc/passwd'): FileOwner | undefined {
  for (const p of paths) {
    if (!p) continue;
    let uid: number;
    try {
      uid = fs.statSync(p).uid;
    } catch {
      continue;
    }
    if (uid === 0) continue;
    const user = userNameOf(uid, passwd);
    return { uid, path: p, ...(user ? { user } : {}) };
  }
  return undefined;
}

export function userNameOf(uid: number, passwd = '/etc/passwd'): string | undefined {
  try {
    for (const line of fs.readFileSync(passwd, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id === String(uid)) return name;
    }
  } catch {
    // no passwd file to read: the uid alone
  }
  return undefined;
}

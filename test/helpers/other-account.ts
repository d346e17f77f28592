import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import type { TestUser } from './user.js';

/**
 * A second local account, the "other user" of DESIGN.md §5.7: created as root for one
 * test file (its own name: never shared between files), removed by `remove()`.
 */
export async function otherAccount(name: string): Promise<TestUser & { remove(): Promise<void> }> {
  const exists = () => {
    try {
      execFileSync('id', ['-u', name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  // A leftover of a killed run of this same file.
  if (exists()) await execa('userdel', ['--force', name], { reject: false });
  await execa('useradd', ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', name]);
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return {
    name,
    uid: id('-u'),
    gid: id('-g'),
    home: '/nonexistent',
    remove: async () => {
      await execa('userdel', ['--force', name], { reject: false });
    },
  };
}

import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import type { TestUser } from './user.js';

/**
 * Throwaway accounts of one fleet: a random prefix per fleet (`acf<6 hex>-`), so two test
 * files (or two fleets of one file) never share an account and a leftover of a killed
 * run never collides with the next.
 */
export function accountPrefix(): string {
  return `acf${randomBytes(3).toString('hex')}-`;
}

export async function makeUser(name: string, home: string): Promise<TestUser> {
  await execa('useradd', ['--create-home', '--home-dir', home, '--shell', '/bin/bash', name]);
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g'), home };
}

/** Ends every process of a throwaway account, each by its pid (the account is the test's own). */
export function killUserProcesses(name: string): void {
  let pids: number[] = [];
  try {
    pids = execFileSync('pgrep', ['-u', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return; // none (pgrep exits 1)
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function removeUser(name: string): Promise<void> {
  killUserProcesses(name);
  await execa('crontab', ['-r', '-u', name], { reject: false });
  await execa('userdel', [name], { reject: false });
}

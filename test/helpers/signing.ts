import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Origin } from './repo.js';

/**
 * Real SSH signing for test repositories (DESIGN.md §11): keys from `ssh-keygen`,
 * commits signed by git with the key set in the author repo's own config (gpg.format
 * ssh, user.signingkey), as a subnet owner does it.
 */
export interface Signer {
  principal: string;
  /** Private key file (what user.signingkey names). */
  key: string;
  /** "<type> <base64>" of the public key. */
  publicKey: string;
}

export function makeSigner(dir: string, principal: string): Signer {
  fs.mkdirSync(dir, { recursive: true });
  const key = path.join(dir, `${principal.replace(/[^A-Za-z0-9]/g, '_')}_ed25519`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', principal, '-f', key], { stdio: 'ignore' });
  const publicKey = fs.readFileSync(`${key}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return { principal, key, publicKey };
}

/** One allowed_signers line (options default: namespaces="git"). */
export function signerLine(signer: Signer, options = 'namespaces="git"'): string {
  return `${signer.principal} ${options ? `${options} ` : ''}${signer.publicKey}`;
}

/** Writes a file readable by anyone (the CLI may run as the throwaway user). */
export function writeSignersFile(file: string, lines: string[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o644 });
  return file;
}

/** git as root in a tree that may belong to the test user, with the owner's identity. */
export function ownerGit(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', ['-c', 'safe.directory=*', '-c', 'user.name=Subnet Owner', '-c', 'user.email=owner@subnet.example', ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/**
 * Commits `files` in the origin's author clone, signed by `signer` (null: unsigned),
 * and force-pushes it to the branch. `committerDate` backdates the commit.
 */
export function pushSigned(origin: Origin, signer: Signer | null, files: Record<string, string>, message: string, options: { committerDate?: string } = {}): string {
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(origin.author, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
    if (file.endsWith('.sh')) fs.chmodSync(full, 0o755);
  }
  const sha = commitSigned(origin.author, signer, message, options);
  origin.forcePush(sha);
  return sha;
}

/** Commits what is staged or changed in `repo`, signed by `signer` (null: unsigned). */
export function commitSigned(repo: string, signer: Signer | null, message: string, options: { committerDate?: string; allowEmpty?: boolean } = {}): string {
  if (signer) {
    ownerGit(repo, ['config', 'gpg.format', 'ssh']);
    ownerGit(repo, ['config', 'user.signingkey', signer.key]);
  }
  ownerGit(repo, ['add', '-A']);
  const env = options.committerDate ? { GIT_COMMITTER_DATE: options.committerDate } : {};
  ownerGit(repo, ['commit', '--quiet', '--allow-empty', signer ? '-S' : '--no-gpg-sign', '-m', message], env);
  return ownerGit(repo, ['rev-parse', 'HEAD']);
}

/**
 * A copy of a signed commit with its message changed and the old signature kept: the
 * object is rebuilt with `git hash-object -t commit -w`, as an attacker who edits a
 * signed release would do. Returns the new sha (same parent, same signature).
 */
export function alterCommit(repo: string, sha: string, newMessage: string): string {
  const object = ownerGit(repo, ['cat-file', 'commit', sha]);
  const split = object.indexOf('\n\n');
  const altered = `${object.slice(0, split)}\n\n${newMessage}\n`;
  return execFileSync('git', ['-c', 'safe.directory=*', 'hash-object', '-t', 'commit', '-w', '--stdin'], {
    cwd: repo,
    input: altered,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: repo, GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();
}

/** A commit object carrying a (fake) OpenPGP signature header: git would hand it to gpg. */
export function withPgpHeader(repo: string, sha: string): string {
  const object = ownerGit(repo, ['cat-file', 'commit', sha]);
  const split = object.indexOf('\n\n');
  const header = `${object.slice(0, split)}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n =abcd\n -----END PGP SIGNATURE-----`;
  return execFileSync('git', ['-c', 'safe.directory=*', 'hash-object', '-t', 'commit', '-w', '--stdin'], {
    cwd: repo,
    input: `${header}${object.slice(split)}\n`,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: repo, GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();
}

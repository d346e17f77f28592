import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { safeDirectoryGitConfig, tempDir } from './tmp.js';

/** Runs git with a fixed identity and no signing, so fixtures never depend on the machine's git config. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Fixture', '-c', 'user.email=fixture@example.com', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', GIT_CONFIG_GLOBAL: safeDirectoryGitConfig() },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export interface Origin {
  /** The bare repository the deploy clone fetches from. */
  bare: string;
  /** A working clone used to author commits and push them to the bare repo. */
  author: string;
  branch: string;
  /** Writes files, commits and pushes to the branch; returns the new sha. */
  push(files: Record<string, string | null>, message?: string): string;
  /** Moves the branch to an arbitrary commit (force-push). */
  forcePush(sha: string): void;
  head(): string;
}

/** A bare "origin" with one commit on `branch` holding `files`. */
export function createOrigin(files: Record<string, string> = { 'README.md': 'fixture\n' }, options: { branch?: string; root?: string } = {}): Origin {
  const root = options.root ?? tempDir('alphacore-origin-');
  const branch = options.branch ?? 'release';
  const bare = path.join(root, 'origin.git');
  const author = path.join(root, 'author');
  git(root, 'init', '--quiet', '--bare', `--initial-branch=${branch}`, bare);
  git(root, 'init', '--quiet', `--initial-branch=${branch}`, author);
  git(author, 'remote', 'add', 'origin', bare);
  const origin: Origin = {
    bare,
    author,
    branch,
    push(changes, message = 'change') {
      for (const [file, content] of Object.entries(changes)) {
        const full = path.join(author, file);
        if (content === null) fs.rmSync(full, { force: true });
        else {
          fs.mkdirSync(path.dirname(full), { recursive: true });
          fs.writeFileSync(full, content);
          if (file.endsWith('.sh')) fs.chmodSync(full, 0o755);
        }
      }
      git(author, 'add', '-A');
      git(author, 'commit', '--quiet', '--allow-empty', '-m', message);
      git(author, 'push', '--quiet', '--force', 'origin', `HEAD:${branch}`);
      return git(author, 'rev-parse', 'HEAD');
    },
    forcePush(sha) {
      git(author, 'reset', '--quiet', '--hard', sha);
      git(author, 'push', '--quiet', '--force', 'origin', `HEAD:${branch}`);
    },
    head: () => git(author, 'rev-parse', 'HEAD'),
  };
  origin.push(files, 'initial');
  return origin;
}

/** A deploy clone of the origin's branch, as an operator would have it. */
export function cloneDeploy(origin: Origin, dir = path.join(tempDir('alphacore-deploy-'), 'AlphaCore')): string {
  git(path.dirname(dir), 'clone', '--quiet', '--branch', origin.branch, origin.bare, dir);
  git(dir, 'config', 'user.name', 'Fixture');
  git(dir, 'config', 'user.email', 'fixture@example.com');
  return dir;
}

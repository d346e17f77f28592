import fs from 'node:fs';
import path from 'node:path';
import { fixtureGit } from './alphacore-fixture.js';
import { PROJECT_ROOT } from './cli.js';
import { commitSettings, installFakePython, type FakePython, type FakePythonSettings } from './fake-python.js';
import { chownTree, type TestUser } from './user.js';

/**
 * The real AlphaCore repository for contract tests (DESIGN.md §1, §8, §10).
 *
 *   const skip = realRepoSkip();                 // reason (printed once) or undefined
 *   describe.skipIf(skip)('...', () => { ... });
 *   const w = await createRealSetup({ root, user });
 *     w.deploy          the deploy clone (branch release), owned by `user`
 *     w.origin          bare origin.git; release starts one commit behind main (main^)
 *     w.origin.advance()                       release -> main, a real later commit; its sha
 *     w.origin.pushSettings({ validator: 'crash' })   commits .fake-python.json on release
 *     w.origin.push({ 'path': 'text' | null }, msg)   any files; returns the new sha
 *     w.fake            the fake Python runtime (put w.fake.bin first on PATH)
 *
 * Where the repository comes from (first that exists): env ALPHACORE_REPO (a clone),
 * env ALPHACORE_BUNDLE, <project>/../shared/alphacore/alphacore.bundle,
 * /work/shared/alphacore/alphacore.bundle.
 */
export type RealRepoSource = { kind: 'clone' | 'bundle'; path: string };

export function locateRealRepo(env: Record<string, string | undefined> = process.env): RealRepoSource | { skip: string } {
  if (env.ALPHACORE_REPO) {
    if (fs.existsSync(path.join(env.ALPHACORE_REPO, '.git'))) return { kind: 'clone', path: path.resolve(env.ALPHACORE_REPO) };
    return { skip: `ALPHACORE_REPO=${env.ALPHACORE_REPO} is not a git clone` };
  }
  const bundles = [env.ALPHACORE_BUNDLE, path.join(PROJECT_ROOT, '..', 'shared', 'alphacore', 'alphacore.bundle'), '/work/shared/alphacore/alphacore.bundle'];
  for (const b of bundles) if (b && fs.existsSync(b)) return { kind: 'bundle', path: path.resolve(b) };
  return { skip: `the real AlphaCore repository is not here: set ALPHACORE_REPO (a clone) or ALPHACORE_BUNDLE, or put it at ${bundles[1]}` };
}

let printed = false;
/** Why contract tests on the real repository skip (printed once per file), or undefined. */
export function realRepoSkip(): string | undefined {
  const found = locateRealRepo();
  if (!('skip' in found)) return undefined;
  if (!printed) console.warn(`[real-repo] skipping contract tests: ${found.skip}`);
  printed = true;
  return found.skip;
}

export interface RealOrigin {
  /** The bare repository the deploy clone fetches from. */
  bare: string;
  branch: 'release';
  /** The commit release started at, and the newest main (a real later commit). */
  initial: string;
  latest: string;
  head(): string;
  /** Moves release to `sha` (default: main, the real later commit); returns it. */
  advance(sha?: string): string;
  /** Commits these files (null deletes) on top of release and pushes; returns the sha. */
  push(files: Record<string, string | null>, message?: string): string;
  /** Commits the fake runtime's settings file: a release that e.g. crashes. */
  pushSettings(settings: FakePythonSettings, message?: string): string;
}

/** A bare origin of the real repository with `release` at `releaseAt` (default main's first parent). */
export function createRealOrigin(root: string, options: { releaseAt?: string } = {}): RealOrigin {
  const found = locateRealRepo();
  if ('skip' in found) throw new Error(found.skip);
  fs.mkdirSync(root, { recursive: true });
  const bare = path.join(root, 'origin.git');
  fixtureGit(root, 'clone', '--quiet', '--bare', found.path, bare);
  const tipRef = (() => {
    try {
      fixtureGit(bare, 'rev-parse', '--verify', '--quiet', 'refs/heads/main');
      return 'refs/heads/main';
    } catch {
      return 'HEAD';
    }
  })();
  const latest = fixtureGit(bare, 'rev-parse', tipRef);
  const initial = fixtureGit(bare, 'rev-parse', options.releaseAt ?? `${latest}^`);
  fixtureGit(bare, 'branch', '--force', 'release', initial);
  const author = path.join(root, 'author');
  const authorClone = (): string => {
    if (!fs.existsSync(author)) fixtureGit(root, 'clone', '--quiet', '--branch', 'release', bare, author);
    fixtureGit(author, 'fetch', '--quiet', 'origin', 'release');
    fixtureGit(author, 'reset', '--quiet', '--hard', 'origin/release');
    return author;
  };
  const self: RealOrigin = {
    bare,
    branch: 'release',
    initial,
    latest,
    head: () => fixtureGit(bare, 'rev-parse', 'refs/heads/release'),
    advance(sha = latest) {
      fixtureGit(bare, 'update-ref', 'refs/heads/release', sha);
      return sha;
    },
    push(files, message = 'test change') {
      const dir = authorClone();
      for (const [file, content] of Object.entries(files)) {
        const full = path.join(dir, file);
        if (content === null) fs.rmSync(full, { force: true });
        else {
          fs.mkdirSync(path.dirname(full), { recursive: true });
          fs.writeFileSync(full, content);
        }
      }
      fixtureGit(dir, 'add', '-A');
      fixtureGit(dir, 'commit', '--quiet', '--allow-empty', '-m', message);
      fixtureGit(dir, 'push', '--quiet', 'origin', 'HEAD:release');
      return fixtureGit(dir, 'rev-parse', 'HEAD');
    },
    pushSettings: (settings, message = `test: fake python ${JSON.stringify(settings)}`) => self.push(commitSettings(settings), message),
  };
  return self;
}

/** A deploy clone of origin's release branch, as an operator has it. */
export function cloneRealDeploy(origin: RealOrigin, dir: string): string {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fixtureGit(path.dirname(dir), 'clone', '--quiet', '--branch', 'release', origin.bare, dir);
  fixtureGit(dir, 'config', 'user.name', 'Operator');
  fixtureGit(dir, 'config', 'user.email', 'operator@example.com');
  return dir;
}

export interface RealSetup {
  root: string;
  origin: RealOrigin;
  deploy: string;
  fake: FakePython;
}

/**
 * origin + deploy clone (<root>/deploy/AlphaCore) + fake Python (<root>/python) under
 * `root`; with `user` the tree is theirs (the CLI runs as them; root keeps pushing).
 */
export async function createRealSetup(options: { root: string; user?: TestUser; releaseAt?: string }): Promise<RealSetup> {
  const { root } = options;
  const origin = createRealOrigin(path.join(root, 'origin'), { releaseAt: options.releaseAt });
  const deploy = cloneRealDeploy(origin, path.join(root, 'deploy', 'AlphaCore'));
  const fake = installFakePython(path.join(root, 'python'));
  if (options.user) await chownTree(root, options.user);
  return { root, origin, deploy, fake };
}

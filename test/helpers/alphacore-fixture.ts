import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { installFakePython, type FakePython } from './fake-python.js';
import { cloneDeploy, createOrigin, type Origin } from './repo.js';
import { safeDirectoryGitConfig, tempDir } from './tmp.js';
import { chownTree, type TestUser } from './user.js';
import { PROJECT_ROOT } from './cli.js';

/**
 * An "AlphaCore-shaped" repository (DESIGN.md §8): VERSION, modules/, the launch
 * scripts of §4-5 and node stubs for the validator and the Validation API. The stubs
 * live in test/fixtures/alphacore-repo; each commit carries fixture/behaviour.json (what
 * this release does) and the control dir (ALPHACORE_FIXTURE_CONTROL) carries runtime
 * knobs and what the stubs recorded.
 */

export type StubMode = 'ok' | 'crash' | 'fail-script' | 'slow';

export interface Behaviour {
  /** crash: exits at start (PM2 restarts it); fail-script: the wrapper exits 3; slow: ready after slowMs. */
  validator?: StubMode;
  /** Same for the Validation API (fail-script: launch_validation_api.sh exits 3). */
  api?: StubMode;
  /** Delay of a `slow` service, in ms (default 3000). */
  slowMs?: number;
  /** VERSION file content (default 0.1.<n>, n counting releases); null: no VERSION file. */
  version?: string | null;
}

export interface ReleaseOptions extends Behaviour {
  /** More files to write (null deletes), e.g. to change modules/requirements.txt. */
  files?: Record<string, string | null>;
  message?: string;
}

export const FIXTURE_SOURCE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'alphacore-repo');

/** git as root on trees that may belong to the test user (safe.directory, fixed identity). */
export function fixtureGit(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'safe.directory=*', '-c', 'user.name=Fixture', '-c', 'user.email=fixture@example.com', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      encoding: 'utf8',
      // safe.directory also in a global config file: a push runs receive-pack on the
      // user's bare repo, and git strips `-c` and GIT_CONFIG_* for local transports.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', GIT_CONFIG_GLOBAL: safeDirectoryGitConfig() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
}

function readTree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(out, readTree(dir, rel));
    else out[rel] = fs.readFileSync(path.join(dir, rel), 'utf8');
  }
  return out;
}

let releases = 0;

/** The files of one AlphaCore-shaped commit with the given behaviour. */
export function alphaCoreFiles(behaviour: Behaviour = {}): Record<string, string | null> {
  releases += 1;
  const files: Record<string, string | null> = {};
  for (const [rel, content] of Object.entries(readTree(FIXTURE_SOURCE))) files[rel] = content;
  const { validator = 'ok', api = 'ok', slowMs = 3000 } = behaviour;
  // One key per line with ": " so that the bash wrappers can grep it.
  files['fixture/behaviour.json'] = `${JSON.stringify({ validator, api, slowMs }, null, 2)}\n`;
  files.VERSION = behaviour.version === null ? null : `${behaviour.version ?? `0.1.${releases}`}\n`;
  return files;
}

export interface AlphaCoreOrigin extends Origin {
  /** Pushes a release with this behaviour (and extra files); returns its sha. */
  release(options?: ReleaseOptions): string;
}

/**
 * A bare origin whose `release` branch holds an AlphaCore-shaped commit. Pushes go
 * through fixtureGit so that they work after the tree was given to the test user.
 */
export function createAlphaCoreOrigin(behaviour: Behaviour = {}, options: { root?: string; branch?: string } = {}): AlphaCoreOrigin {
  const root = options.root ?? tempDir('alphacore-origin-');
  fs.mkdirSync(root, { recursive: true });
  const first = alphaCoreFiles(behaviour);
  const origin = createOrigin(Object.fromEntries(Object.entries(first).filter((e): e is [string, string] => e[1] !== null)), { root, branch: options.branch });
  const push = (changes: Record<string, string | null>, message = 'change'): string => {
    for (const [file, content] of Object.entries(changes)) {
      const full = path.join(origin.author, file);
      if (content === null) fs.rmSync(full, { force: true });
      else {
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, content);
        if (file.endsWith('.sh')) fs.chmodSync(full, 0o755);
      }
    }
    fixtureGit(origin.author, 'add', '-A');
    fixtureGit(origin.author, 'commit', '--quiet', '--allow-empty', '-m', message);
    fixtureGit(origin.author, 'push', '--quiet', '--force', 'origin', `HEAD:${origin.branch}`);
    return fixtureGit(origin.author, 'rev-parse', 'HEAD');
  };
  const self: AlphaCoreOrigin = {
    ...origin,
    push,
    forcePush(sha) {
      fixtureGit(origin.author, 'reset', '--quiet', '--hard', sha);
      fixtureGit(origin.author, 'push', '--quiet', '--force', 'origin', `HEAD:${origin.branch}`);
    },
    head: () => fixtureGit(origin.author, 'rev-parse', 'HEAD'),
    release: (opts = {}) => push({ ...alphaCoreFiles(opts), ...(opts.files ?? {}) }, opts.message ?? `release ${opts.version ?? ''}`.trim()),
  };
  return self;
}

/** Pushes a release with the given behaviour, e.g. pushRelease(origin, { validator: 'crash' }). */
export function pushRelease(origin: AlphaCoreOrigin, options: ReleaseOptions = {}): string {
  return origin.release(options);
}

/**
 * A venv of the fake Python runtime (test/helpers/fake-python.ts), made by its `python3 -m
 * venv`: in this fixture's clone its python runs the fixture's node stubs (fixture/*.mjs),
 * and its pip records to the control dir (pip.jsonl) as well as to the runtime's.
 */
export function makeStubVenv(dir: string, python: FakePython): string {
  execFileSync(path.join(python.bin, 'python3'), ['-m', 'venv', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return dir;
}

export interface FixtureControl {
  dir: string;
  env: { ALPHACORE_FIXTURE_CONTROL: string };
  /** The validator stub writes the round lockfile until releaseRoundLock(). */
  holdRoundLock(info?: { round_id?: string; block?: number; ts?: number }): void;
  releaseRoundLock(): void;
  /** The API stub reports these jobs in /validate/active ([] = idle). */
  setBusy(jobs: unknown[]): void;
  validatorStarts(): { pid: number; version: string; argv: string[]; cwd: string; env: Record<string, string>; mode: string }[];
  apiStarts(): { pid: number; version: string; port: number; host: string; mode: string }[];
  /** argv of every launch_validation_api.sh run (each a list of separate words). */
  apiLaunches(): string[][];
  /** argv of every pip run in a fixture venv (the fake runtime records it here too). */
  pipRuns(): string[][];
  sandboxRuns(): number;
}

const jsonl = <T>(file: string): T[] =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T) : [];

/** The runtime knobs and records of the stubs, in `dir` (world-writable so any user's stub can record). */
export function fixtureControl(dir: string): FixtureControl {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777);
  const at = (name: string) => path.join(dir, name);
  return {
    dir,
    env: { ALPHACORE_FIXTURE_CONTROL: dir },
    holdRoundLock: (info = {}) => fs.writeFileSync(at('hold-round-lock'), JSON.stringify(info), { mode: 0o644 }),
    releaseRoundLock: () => fs.rmSync(at('hold-round-lock'), { force: true }),
    setBusy: (jobs) => {
      if (jobs.length === 0) fs.rmSync(at('api-busy'), { force: true });
      else fs.writeFileSync(at('api-busy'), JSON.stringify(jobs), { mode: 0o644 });
    },
    validatorStarts: () => jsonl(at('validator-starts.jsonl')),
    apiStarts: () => jsonl(at('api-starts.jsonl')),
    apiLaunches: () => jsonl(at('api-launches.jsonl')),
    pipRuns: () => jsonl(at('pip.jsonl')),
    sandboxRuns: () => (fs.existsSync(at('sandbox-setup.log')) ? fs.readFileSync(at('sandbox-setup.log'), 'utf8').split('\n').filter(Boolean).length : 0),
  };
}

export interface AlphaCoreSetup {
  root: string;
  origin: AlphaCoreOrigin;
  /** The deploy clone (release branch checked out). */
  deploy: string;
  /** A fake-runtime venv at <deploy>/venv (launch's default venv dir). */
  venv: string;
  /** The fake Python runtime: put python.bin first on PATH where the update prepares venvs. */
  python: FakePython;
  control: FixtureControl;
}

/**
 * Origin + deploy clone + fake-runtime venv + control dir under `root`. With `user`, the
 * whole tree is given to that user (the CLI runs as them; root keeps pushing).
 */
export async function createAlphaCoreSetup(options: { root?: string; behaviour?: Behaviour; user?: TestUser } = {}): Promise<AlphaCoreSetup> {
  const root = options.root ?? tempDir('alphacore-setup-');
  const origin = createAlphaCoreOrigin(options.behaviour, { root: path.join(root, 'origin') });
  fs.mkdirSync(path.join(root, 'deploy'), { recursive: true });
  const deploy = cloneDeploy(origin, path.join(root, 'deploy', 'AlphaCore'));
  const python = installFakePython(path.join(root, 'python'));
  const venv = makeStubVenv(path.join(deploy, 'venv'), python);
  // venv/ is untracked in the clone, as an operator's would be; keep `git status` clean.
  fs.appendFileSync(path.join(deploy, '.git', 'info', 'exclude'), 'venv/\nenv/\n');
  const control = fixtureControl(path.join(root, 'control'));
  if (options.user) await chownTree(root, options.user);
  return { root, origin, deploy, venv, python, control };
}

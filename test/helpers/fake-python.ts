import fs from 'node:fs';
import path from 'node:path';
import { installRuntime } from './fake-python/install.mjs';

/**
 * A fake Python runtime for contract tests on the real AlphaCore repository (DESIGN.md
 * §8, §10): everything Python is replaced, nothing else. Put `fake.bin` first on PATH.
 *
 *   const fake = installFakePython(path.join(root, 'python'));   // copies the runtime there
 *   env.PATH = `${fake.bin}:${env.PATH}`;
 *   fake.set({ holdRound: true });      // per test, read live by the running stubs
 *   fake.networkDown();                 // pip fails unless PIP_NO_INDEX=1 and already installed
 *   fake.validatorStarts(), fake.pipRuns(), fake.installed(venvDir)   // what happened
 *   commitSettings({ validator: 'crash' })  // the file to commit for "a release that crashes"
 *
 * What it answers: `python3 -m venv DIR` (bin/activate, bin/python, bin/pip; --clear),
 * `python -m pip install [-U] [-r FILE] [--no-index] pkgs` (records into
 * DIR/fake-installed.json; PIP_NO_INDEX honoured), `python3 -c 'import venv, ensurepip'`,
 * `python3 - FILE` (launch_validator.sh's client_email probe), `python
 * scripts/start_validator.py` / `neurons/validator.py` (fake validator: needs the API's
 * /health when ALPHACORE_VALIDATION_API_ENABLED, removes a leftover
 * ALPHACORE_ROUND_LOCKFILE, writes {round_id,block,ts,pid} there while a round is held and
 * removes it at round end or Ctrl-C; for start_validator.py the task-generation API in a
 * side process on ALPHACORE_HTTP_PORT, 2 s before the round loop, as there: records
 * taskgen-ready.jsonl {pid, validatorPid, port} when it listens, logs `Task Generation API
 * error: ... EADDRINUSE` when the port is busy),
 * the weights warm-up lines of neurons/validator.py (`[WEIGHTS] Emitter started`, one
 * `Epoch check ... tasks=K/M` per epoch, `Emitted weights on chain` once K >= M; one
 * task per epoch; M from ALPHACORE_WEIGHTS_MIN_TASKS_BEFORE_EMIT, the epoch from
 * ALPHACORE_FAKE_EPOCH_MS or the `epochMs` setting),
 * `python -m modules.evaluation.validation.sandbox.validation_api` (fake API on
 * ALPHACORE_VALIDATION_HTTP_HOST/PORT: /health, /validate/active).
 *
 * Settings: the committed `<repo>/.fake-python.json` (a release's own behaviour; its keys
 * win) over `<control>/settings.json` (the test's), plus env FAKE_PYTHON_NETWORK_DOWN=1
 * and FAKE_PYTHON_PIP_DELAY=<s>. The control dir is baked into the wrappers (and every
 * venv they create), so processes under PM2 find it without any environment.
 */
export interface FakePythonSettings {
  /** crash: the validator exits 1 at start (PM2 restarts it until it gives up). */
  validator?: 'ok' | 'crash';
  /** crash: the Validation API exits 1 at start. */
  api?: 'ok' | 'crash';
  /** While set, the validator holds a round: the round lockfile exists. */
  holdRound?: boolean | { round_id?: string; block?: number };
  /** Jobs GET /validate/active reports ([] or absent: idle). */
  busy?: unknown[];
  /** pip cannot reach an index: it fails unless PIP_NO_INDEX=1 and the requirements are installed. */
  networkDown?: boolean;
  /** pip prints 40 "Collecting <name>N" lines on stdout and a warning on stderr, over a second (progress tests). */
  pipChatter?: boolean;
  /** Each pip install takes this long (bench). */
  pipDelaySeconds?: number;
  /** The validator and API take this long before they start serving. */
  startDelaySeconds?: number;
  /** The Validation API serves, then exits 1 this long after it began listening (a release that answers, then crashes). */
  apiCrashAfterSeconds?: number;
  /** The weights emitter's epoch in ms (env ALPHACORE_FAKE_EPOCH_MS wins; default 72 min). */
  epochMs?: number;
  /** false: the validator's rounds complete no task (it stays warming up); read live. */
  completeTasks?: boolean;
}

/** The file a commit carries to set its own behaviour. */
export const FAKE_PYTHON_COMMIT_FILE = '.fake-python.json';

export const commitSettings = (s: FakePythonSettings): Record<string, string> => ({ [FAKE_PYTHON_COMMIT_FILE]: `${JSON.stringify(s, null, 2)}\n` });

export interface ValidatorStart {
  pid: number;
  entry: string;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  version: string;
  mode: string;
}
export interface PipRun {
  venv: string;
  args: string[];
  noIndex: boolean;
  offline: boolean;
  ok: boolean;
  wanted: string[];
}

export interface FakePython {
  /** Folder with python3 and python: put it first on PATH. */
  bin: string;
  /** Settings and records (world-writable: the stubs run as the test user). */
  control: string;
  /** Merges into the per-test settings (undefined values remove a key). */
  set(settings: FakePythonSettings): void;
  settings(): FakePythonSettings;
  holdRound(info?: { round_id?: string; block?: number }): void;
  releaseRound(): void;
  setBusy(jobs: unknown[]): void;
  networkDown(down?: boolean): void;
  validatorStarts(): ValidatorStart[];
  apiStarts(): { pid: number; host: string; port: number; env: Record<string, string>; version: string; mode: string }[];
  pipRuns(): PipRun[];
  venvsCreated(): { dir: string; args: string[] }[];
  rounds(): { event: string; lockfile: string; pid: number }[];
  /** Packages the fake pip recorded in a venv (undefined: not a fake venv). */
  installed(venvDir: string): string[] | undefined;
}

const jsonl = <T>(file: string): T[] =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T) : [];

/**
 * Copies the runtime into `dir` (so a throwaway user can run it whatever the project's
 * own folder allows) and writes bin/python3 and bin/python. Everything is world-readable;
 * the control dir world-writable.
 */
export function installFakePython(dir: string): FakePython {
  const { bin, control } = installRuntime(dir);
  const settingsFile = path.join(control, 'settings.json');
  const read = (): FakePythonSettings => (fs.existsSync(settingsFile) ? (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as FakePythonSettings) : {});
  const self: FakePython = {
    bin,
    control,
    set(s) {
      const next: Record<string, unknown> = { ...read(), ...s };
      for (const [k, v] of Object.entries(next)) if (v === undefined) delete next[k];
      // Atomic: the stubs poll this file and must never read half of it.
      const tmp = `${settingsFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(next), { mode: 0o644 });
      fs.renameSync(tmp, settingsFile);
    },
    settings: read,
    holdRound: (info = {}) => self.set({ holdRound: Object.keys(info).length ? info : true }),
    releaseRound: () => self.set({ holdRound: undefined }),
    setBusy: (jobs) => self.set({ busy: jobs.length ? jobs : undefined }),
    networkDown: (down = true) => self.set({ networkDown: down || undefined }),
    validatorStarts: () => jsonl(path.join(control, 'validator-starts.jsonl')),
    apiStarts: () => jsonl(path.join(control, 'api-starts.jsonl')),
    pipRuns: () => jsonl(path.join(control, 'pip.jsonl')),
    venvsCreated: () => jsonl(path.join(control, 'venvs.jsonl')),
    rounds: () => jsonl(path.join(control, 'rounds.jsonl')),
    installed(venvDir) {
      const file = path.join(venvDir, 'fake-installed.json');
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as string[]) : undefined;
    },
  };
  return self;
}

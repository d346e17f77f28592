import fs from 'node:fs';
import path from 'node:path';
import { describeFailure, run } from '../../adapters/shell.js';
import type { Context } from '../../core/context.js';
import { OperationError } from '../../core/errors.js';
import { writeAtomic } from '../../adapters/atomic-write.js';

/**
 * What to do about the validator venv: present, creatable with python3, left incomplete
 * by an earlier launch (finish it), or impossible.
 */
export type VenvState = { kind: 'present' } | { kind: 'create'; python: string } | { kind: 'incomplete'; python: string } | { kind: 'missing'; reason: string };

/**
 * Written into a venv launch creates before anything else, removed once its dependency
 * install succeeded: a venv that still has it is not used as if complete (a validator
 * started into an empty venv fails at its first import). Venvs launch did not create
 * (the operator's own) never have it.
 */
export const INCOMPLETE_MARKER = '.alphacore-incomplete';

export function venvPresent(venvDir: string): boolean {
  // The wrapper sources bin/activate; a dir without it is not a venv it can use.
  return fs.existsSync(path.join(venvDir, 'bin', 'activate')) && !fs.existsSync(path.join(venvDir, INCOMPLETE_MARKER));
}

export function venvHowTo(venvDir: string, repoDir: string): string {
  return `Create it with: python3 -m venv ${venvDir} && ${path.join(venvDir, 'bin', 'pip')} install -r ${path.join(repoDir, 'modules', 'requirements.txt')} (on Debian/Ubuntu: sudo apt install python3-venv first), or pass --venv-dir to an existing venv.`;
}

export async function inspectVenv(ctx: Context, venvDir: string): Promise<VenvState> {
  if (venvPresent(venvDir)) return { kind: 'present' };
  const probe = await run('python3', ['-c', 'import venv, ensurepip'], { env: ctx.env, timeoutMs: 20_000 });
  if (probe.ok) return { kind: fs.existsSync(path.join(venvDir, INCOMPLETE_MARKER)) ? 'incomplete' : 'create', python: 'python3' };
  return {
    kind: 'missing',
    reason: probe.notFound ? 'python3 is not on PATH' : 'python3 has no working venv module (ensurepip missing)',
  };
}

/** How launch shows a long step and keeps a subprocess's full output (the launch log). */
export interface StepIo {
  phase<T>(title: string, fn: () => Promise<T>): Promise<T>;
  output(command: string, stdout: string, stderr: string): void;
}

/** Phases as plain report lines (a relaunch inside an update: its lines become updater log lines). */
export function plainSteps(ctx: Context): StepIo {
  return {
    async phase(title, fn) {
      ctx.stdout(`${title}...\n`);
      return fn();
    },
    output: () => {},
  };
}

/**
 * Creates the venv (or finishes one an earlier launch left incomplete) and installs
 * modules/requirements.txt into it, one phase each (pip's full output goes to the log);
 * complete only when pip succeeded.
 */
export async function bootstrapVenv(ctx: Context, venvDir: string, repoDir: string, python: string, steps: StepIo = plainSteps(ctx)): Promise<void> {
  const marker = path.join(venvDir, INCOMPLETE_MARKER);
  const resuming = fs.existsSync(marker);
  await fs.promises.mkdir(venvDir, { recursive: true });
  writeAtomic(marker, 'created by alphacore launch; removed once pip install -r modules/requirements.txt succeeded\n', { mode: 0o644 });
  if (!resuming || !fs.existsSync(path.join(venvDir, 'bin', 'activate'))) {
    const created = await steps.phase(`Creating the validator venv ${venvDir} (${python} -m venv)`, async () => {
      const r = await run(python, ['-m', 'venv', venvDir], { env: ctx.env, timeoutMs: 300_000, cwd: repoDir });
      steps.output(r.command, r.stdout, r.stderr);
      return r;
    });
    if (!created.ok) throw new OperationError(`Could not create the venv: ${describeFailure(created)}. ${venvHowTo(venvDir, repoDir)}`);
  } else ctx.stdout(`Finishing the validator venv ${venvDir}: an earlier launch left it without its dependencies.\n`);
  const requirements = path.join(repoDir, 'modules', 'requirements.txt');
  if (fs.existsSync(requirements)) {
    const pip = await steps.phase(`Installing ${path.relative(repoDir, requirements)} into it (pip; full output in the log)`, async () => {
      const r = await run(path.join(venvDir, 'bin', 'python'), ['-m', 'pip', 'install', '-r', requirements], { env: ctx.env, timeoutMs: 30 * 60_000, cwd: repoDir });
      steps.output(r.command, r.stdout, r.stderr);
      return r;
    });
    if (!pip.ok) {
      throw new OperationError(`pip install -r ${requirements} failed: ${describeFailure(pip)}. Nothing was started. Fix it (network, pip) and run launch again: it finishes this venv rather than using it half-installed.`);
    }
  }
  await fs.promises.rm(marker, { force: true });
}

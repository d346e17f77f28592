import fs from 'node:fs';
import path from 'node:path';
import type { Pm2Process } from '../../adapters/pm2.js';
import { describeFailure, run as runProgram } from '../../adapters/shell.js';
import { writeAtomic } from '../../adapters/atomic-write.js';
import { Budget, STAGE_MS, STEP_MS } from './budget.js';
import { announceStep } from './deploy.js';
import { SCRIPTS } from './deploy-plan.js';
import type { SwapVenvs, VenvStep } from './plan.js';
import type { LiveRun, Run } from './run.js';
import { COMPLETE_MARKER, isComplete, requirementsHash, venvRoot } from './venv-names.js';
import { isPreparedName, looksPrepared, preparedLately, venvsNamedOnDisk, venvsOfProcesses } from './venvs-in-use.js';

/**
 * §5.4, the prepare stage: before anything is stopped, the venvs both sides of the swap
 * need, at content-addressed paths `<kind>-<sha256 of modules/requirements.txt, short>`
 * under ~/.local/share/alphacore/venvs (XDG_DATA_HOME). Created with `python3 -m venv`,
 * filled with `pip install -r`, marked complete only when that succeeded; a complete
 * one is reused as is. The target's venvs carry the swap, the previous commit's the
 * rollback, so neither needs the network (the swap runs the repo's scripts with
 * PIP_NO_INDEX=1). Only adds: never stops; retainVenvs below removes only what nothing names.
 */
export { COMPLETE_MARKER, isComplete, venvName, venvRoot, type VenvKind } from './venv-names.js';

function touchMarker(dir: string, now: Date): void {
  try {
    fs.utimesSync(path.join(dir, COMPLETE_MARKER), now, now);
  } catch {
    // read-only or gone: retainVenvs then judges by the names alone
  }
}

/** Builds the step's venv unless a complete one exists (then it is reused). Throws with what failed. */
async function ensureVenv(run: Run, step: VenvStep, requirements: Buffer, budget: Budget): Promise<string> {
  const { ctx, log } = run;
  const { kind, dir } = step;
  const root = venvRoot(ctx);
  // The plan named the venv by the commit's requirements; the same commit cannot differ.
  if (path.basename(dir) !== `${kind}-${requirementsHash(requirements)}` || path.dirname(dir) !== root) throw new Error(`the planned venv ${dir} does not match the requirements of ${step.commit.slice(0, 7)}`);
  if (isComplete(dir)) {
    // Freshly used: another namespace's update, finishing meanwhile, keeps it until this
    // one's swap records it (retainVenvs keeps what was prepared or reused lately).
    touchMarker(dir, ctx.now());
    return dir;
  }
  const start = ctx.now().getTime();
  log.info(`preparing the ${kind} venv ${dir} (python3 -m venv, pip install -r; the services keep running)`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const env = { ...ctx.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' };
  delete (env as Record<string, string | undefined>).PIP_NO_INDEX;
  const created = await runProgram('python3', ['-m', 'venv', dir], { env, timeoutMs: budget.cap(STEP_MS.venvCreate), cwd: root });
  log.output(created.command, created.stdout, created.stderr);
  if (!created.ok) throw new Error(`python3 -m venv ${dir} failed: ${describeFailure(created)} (on Debian/Ubuntu: sudo apt install python3-venv)`);
  // The target's requirements, not the clone's (which is still the current commit).
  const reqFile = path.join(dir, 'alphacore-requirements.txt');
  writeAtomic(reqFile, requirements, { mode: 0o644, durable: true });
  const pip = await runProgram(path.join(dir, 'bin', 'pip'), ['install', '-r', reqFile], { env, timeoutMs: budget.cap(STEP_MS.pipInstall), cwd: root });
  log.output(pip.command, pip.stdout, pip.stderr);
  if (!pip.ok) throw new Error(`pip install -r modules/requirements.txt into ${dir} failed: ${describeFailure(pip)}`);
  writeAtomic(path.join(dir, COMPLETE_MARKER), `${ctx.now().toISOString()}\n`, { mode: 0o644, durable: true });
  log.info(`prepared ${dir} in ${Math.round((ctx.now().getTime() - start) / 100) / 10}s`);
  return dir;
}

/** The plan's venv steps, in order: the venvs the swap (target) and its rollback (current commit) run with. */
export async function prepareVenvs(run: Run, steps: readonly VenvStep[]): Promise<void> {
  const { ctx } = run;
  const budget = new Budget(() => ctx.now().getTime(), STAGE_MS.prepare, 'prepare');
  const requirements = new Map<string, Buffer>();
  for (const step of steps) {
    announceStep(run, step);
    let text = requirements.get(step.commit);
    if (!text) {
      text = await run.git.show(step.commit, SCRIPTS.requirements);
      if (text === undefined) throw new Error(`${step.commit.slice(0, 7)} has no ${SCRIPTS.requirements} any more`);
      requirements.set(step.commit, text);
    }
    await ensureVenv(run, step, text, budget);
  }
}

/**
 * After a swap: the venvs in use become this namespace's current, the ones before them
 * previous. The root is shared by every namespace of the user, so a `<kind>-<hash>`
 * folder is removed only when nothing else may need it: no other namespace's state, no
 * auto-update config, PM2's saved list nor a live PM2 process names it, and it was not
 * prepared or reused lately (another namespace's update may be between its prepare and
 * its swap, with the venv not yet recorded anywhere; venvs-in-use.ts).
 * `processes` undefined (PM2 could not be asked): nothing is removed this time, since
 * what the validators run on is unknown. Folders not named `<kind>-<hash>`, not real
 * directories or without a sign of being prepared here, and the bash-era venvs
 * elsewhere, are never touched.
 */
export function retainVenvs(run: LiveRun, current: SwapVenvs, previous: SwapVenvs, processes: readonly Pm2Process[] | undefined): void {
  const { ctx, config, log, state } = run;
  state.venvs = { current: { ...current }, previous: { ...previous } };
  if (!processes) {
    log.warn('could not list the PM2 processes, so no old prepared venv is removed this time (one may be in use)');
    return;
  }
  const keep = new Set([...Object.values(current), ...Object.values(previous)].filter((d): d is string => Boolean(d)).map((d) => path.basename(d)));
  for (const name of venvsNamedOnDisk(ctx, { stateFile: ctx.paths.state(config.namespace), configFile: config.file })) keep.add(name);
  for (const name of venvsOfProcesses(processes)) keep.add(name);
  const root = venvRoot(ctx);
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(root, name);
    if (!isPreparedName(name) || keep.has(name) || !looksPrepared(dir) || preparedLately(dir, ctx.now())) continue;
    try {
      fs.rmSync(dir, { recursive: true, force: true });
      log.info(`removed the old prepared venv ${dir} (no namespace, config or PM2 process names it)`);
    } catch (error) {
      log.warn(`could not remove ${dir}: ${(error as Error).message}`);
    }
  }
}

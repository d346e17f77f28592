import fs from 'node:fs';
import path from 'node:path';
import { checkSandboxSudo, sandboxSudoFix } from '../../domain/sandbox-sudo.js';
import { SCRIPTS, type DeployPlan } from './deploy-plan.js';
import type { DeployTarget } from './plan.js';
import type { Run } from './run.js';

/**
 * Step 9: everything that can be checked before anything is stopped. Returns the
 * problems (empty when the restart may go ahead).
 */
export async function preflight(run: Run, forward: DeployTarget, plan: DeployPlan): Promise<string[]> {
  const { ctx, config } = run;
  const target = forward.commit;
  const problems: string[] = [];
  try {
    await run.pm2.list(config.namespace);
  } catch (error) {
    problems.push(`PM2 is not usable: ${(error as Error).message}`);
  }
  const needed = [SCRIPTS.validator, ...(plan.api ? [SCRIPTS.api] : []), ...(plan.sandbox ? [SCRIPTS.sandbox] : []), ...(plan.deps ? [SCRIPTS.requirements] : [])];
  for (const file of needed) {
    if (!(await run.git.hasFile(target, file))) problems.push(`the target commit ${target.slice(0, 7)} has no ${file}`);
  }
  if (plan.sandbox) {
    // The exact command the setup step runs; the sandbox's own sudoers rule covers only
    // its python runner, so a timer's sudo may well need a password.
    const check = await checkSandboxSudo(ctx, config.repoDir, ctx.env.USER ?? '<user>', true);
    if (check && !check.ok) problems.push(`sudo would ask for a password to run the sandbox setup (${check.detail}). ${sandboxSudoFix(check)}`);
  }
  // The refresh runs the plan's pip (the configured validator venv's: a prepared one was filled before the stop).
  const deps = forward.steps.find((step) => step.step === 'deps');
  const pip = deps?.argv[0];
  if (pip && !fs.existsSync(pip)) {
    const venvDir = path.dirname(path.dirname(pip));
    problems.push(`the validator venv ${venvDir} has no bin/pip for the dependency refresh; create it (python3 -m venv ${venvDir}) or set VALIDATOR_VENV_DIR.`);
  }
  return problems;
}

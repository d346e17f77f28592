import fs from 'node:fs';
import path from 'node:path';
import type { Git } from '../../adapters/git.js';
import type { Pm2 } from '../../adapters/pm2.js';
import { describeFailure, run } from '../../adapters/shell.js';
import type { AutoupdateConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import { SCRIPTS, type DeployPlan } from './deploy-plan.js';

/**
 * Step 9: everything that can be checked before anything is stopped. Returns the
 * problems (empty when the restart may go ahead).
 */
export async function preflight(
  io: { ctx: Context; config: AutoupdateConfig; git: Git; pm2: Pm2; venvDir: string },
  target: string,
  plan: DeployPlan,
): Promise<string[]> {
  const { ctx, config } = io;
  const problems: string[] = [];
  try {
    await io.pm2.list(config.namespace);
  } catch (error) {
    problems.push(`PM2 is not usable: ${(error as Error).message}`);
  }
  const needed = [SCRIPTS.validator, ...(plan.api ? [SCRIPTS.api] : []), ...(plan.sandbox ? [SCRIPTS.sandbox] : []), ...(plan.deps ? [SCRIPTS.requirements] : [])];
  for (const file of needed) {
    if (!(await io.git.hasFile(target, file))) problems.push(`the target commit ${target.slice(0, 7)} has no ${file}`);
  }
  if (plan.sandbox) {
    // The exact command the setup step runs; the sandbox's own sudoers rule covers only
    // its python runner, so a timer's sudo may well need a password.
    const script = path.join(config.repoDir, SCRIPTS.sandbox);
    const check = await run('sudo', ['-n', '-l', 'bash', script], { env: ctx.env, timeoutMs: 10_000 });
    if (!check.ok) {
      problems.push(
        `sudo would ask for a password to run the sandbox setup (${describeFailure(check)}). ` +
          `Allow exactly that command without a password (visudo: \`${ctx.env.USER ?? '<user>'} ALL=(root) NOPASSWD: /usr/bin/bash ${script}\`), ` +
          'or set SANDBOX_SETUP=never and run it yourself after updates that change the sandbox. ' +
          'That rule makes whoever can change the script root (this user, and without ALLOWED_SIGNERS whoever can push a release): docs/trust.md has a safer layout.',
      );
    }
  }
  if (plan.deps && !fs.existsSync(path.join(io.venvDir, 'bin', 'pip'))) {
    problems.push(`the validator venv ${io.venvDir} has no bin/pip for the dependency refresh; create it (python3 -m venv ${io.venvDir}) or set VALIDATOR_VENV_DIR.`);
  }
  return problems;
}

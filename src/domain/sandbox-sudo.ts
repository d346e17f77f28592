import fs from 'node:fs';
import path from 'node:path';
import { describeFailure, run } from '../adapters/shell.js';
import type { Context } from '../core/context.js';

/** The sandbox's one-time root provisioning, which the updater re-runs when a release changes the sandbox. */
export const SANDBOX_SETUP_SCRIPT = 'modules/evaluation/validation/sandbox/setup.sh';

/** Whether sudo runs the setup without a password, and the rule that makes it so. */
export interface SandboxSudo {
  ok: boolean;
  /** The script in the clone, absolute. */
  script: string;
  /** The sudoers line that allows exactly the command the update runs. */
  rule: string;
  /** Why sudo would not run it (sudo's own words), when it would not. */
  detail?: string;
}

/** sudoers escapes these in a command's arguments (sudoers(5): `\`, `,`, `:`, `=` and whitespace). */
const sudoersArg = (arg: string) => arg.replace(/[\\,:=\s]/g, (c) => `\\${c}`);

/** The exact sudoers line for `sudo -n bash <script>` (sudo resolves bash through its secure_path). */
export function sandboxSudoersRule(user: string, script: string): string {
  return `${user} ALL=(root) NOPASSWD: /usr/bin/bash ${sudoersArg(script)}`;
}

/**
 * Asks sudo, without a password and without running anything (`sudo -n -l`), whether it
 * would run the exact command the update's sandbox step runs. undefined when the clone
 * has no setup script (nothing to allow), unless `anyway`: the update asks before its
 * reset, while the clone may still be at a commit without the script.
 */
export async function checkSandboxSudo(ctx: Context, repoDir: string, user: string, anyway = false): Promise<SandboxSudo | undefined> {
  const script = path.join(repoDir, SANDBOX_SETUP_SCRIPT);
  if (!anyway && !fs.existsSync(script)) return undefined;
  const rule = sandboxSudoersRule(user, script);
  const check = await run('sudo', ['-n', '-l', 'bash', script], { env: ctx.env, timeoutMs: 10_000 });
  if (check.ok) return { ok: true, script, rule };
  return { ok: false, script, rule, detail: check.notFound ? 'sudo is not installed' : describeFailure(check) };
}

/** What to do, in one sentence the update's preflight, launch and status share. */
export function sandboxSudoFix(s: SandboxSudo): string {
  return (
    `Add this rule with \`sudo visudo -f /etc/sudoers.d/alphacore-sandbox\`: ${s.rule} ` +
    `(and run the one-time sandbox setup first if it never ran on this machine: sudo bash ${s.script}), ` +
    'or set SANDBOX_SETUP=never in the auto-update config and run it yourself after updates that change the sandbox.'
  );
}

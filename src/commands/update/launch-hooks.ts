import path from 'node:path';
import type { Context } from '../../core/context.js';
import { OperationError } from '../../core/errors.js';

/** What the cycle needs from the launch module (§5 step 13): the same code, not the CLI. */
export interface LaunchHooks {
  relaunch(argv: string[]): Promise<void>;
  /** Validates launch flags without starting anything (preflight). */
  check(argv: string[]): Promise<void>;
  defaultVenvDir: string;
}

export function launchHooks(_ctx: Context, repoDir: string): LaunchHooks {
  return {
    relaunch: async () => {
      throw new OperationError('validator relaunch is not wired yet');
    },
    check: async () => undefined,
    defaultVenvDir: path.join(repoDir, '.venv'),
  };
}

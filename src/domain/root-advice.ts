import path from 'node:path';
import { nonRootOwner } from '../adapters/file-owner.js';
import { joinWords } from '../core/envfile.js';

/**
 * The command a root refusal advises: `sudo -iu <owner> <command>`, with the owner of the
 * first of `paths` (the config, the deploy clone) that a non-root user owns, so the
 * operator can paste it; `<user>` only when none of them tells.
 */
export function asOwner(cwd: string, paths: readonly (string | undefined)[], command: string): string {
  const owner = nonRootOwner(paths.map((p) => (p ? path.resolve(cwd, p) : undefined)));
  const who = owner ? (owner.user ? joinWords([owner.user]) : `'#${owner.uid}'`) : '<user>';
  return `sudo -iu ${who} ${command}`;
}

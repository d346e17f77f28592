import fs from 'node:fs';
import path from 'node:path';
import { executable } from '../adapters/programs.js';
import { run } from '../adapters/shell.js';
import type { Context } from '../core/context.js';
import { UserError } from '../core/errors.js';
import type { Interval } from '../core/interval.js';
import type { RunSpec } from '../render/scheduler.js';
import { refuseUnsafe } from '../render/escape.js';

/** Turns a request plus the launch environment into what the scheduled run needs. */

// PM2's own variables and the XDG dirs decide where the run finds pm2, its
// config and its log; the timer must see the ones the operator launched with.
const CAPTURED = ['PM2_HOME', 'PM2_BIN', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME'] as const;
const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkNamespace(namespace: string, flag = '--namespace'): void {
  if (!NAMESPACE.test(namespace) || namespace.length > 100) {
    throw new UserError(`${flag}: ${JSON.stringify(namespace)} is not a valid namespace.`, {
      hint: 'Use letters, digits, "_", "." and "-" (at most 100), e.g. --namespace alphacore.',
    });
  }
}

/**
 * PATH as captured at launch, in the operator's order (their python3 makes the venvs the
 * update prepares: a pyenv or conda python3 ahead of /usr/bin must stay ahead), with the
 * running node's folder put first only when the first `node` on that PATH is another one:
 * pm2 is a `#!/usr/bin/env node` script, so the node that installed it must be found
 * (nvm, a user npm prefix). Putting /usr/bin first unconditionally would have made a
 * timer's python3 the system one.
 */
export function capturedPath(ctx: Context): string {
  const nodeDir = path.dirname(ctx.nodePath);
  const entries = [...new Set((ctx.env.PATH || FALLBACK_PATH).split(':').filter((e) => e !== ''))];
  const firstNode = entries.map((dir) => path.join(dir, 'node')).find(executable);
  if (firstNode && sameFile(firstNode, ctx.nodePath)) return entries.join(':');
  return [nodeDir, ...entries.filter((e) => e !== nodeDir)].join(':');
}

function sameFile(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

/** `extra`: variables the run needs beyond the captured ones (REPO_DIR for a bash-era config). */
export function runSpec(ctx: Context, namespace: string, configFile: string, interval: Interval, extra: readonly [string, string][] = []): RunSpec {
  checkNamespace(namespace);
  if (!path.isAbsolute(configFile)) throw new UserError(`--config: ${configFile} must be an absolute path.`);
  refuseUnsafe(configFile, `--config ${configFile}`);
  const environment: [string, string][] = [['PATH', capturedPath(ctx)]];
  for (const name of CAPTURED) {
    const value = ctx.env[name];
    if (value) environment.push([name, value]);
  }
  environment.push(...extra);
  return { namespace, nodePath: ctx.nodePath, cliPath: ctx.cliPath, configFile, environment, interval };
}

/** The login name, for linger. */
export async function userName(ctx: Context): Promise<string | undefined> {
  const fromEnv = ctx.env.USER || ctx.env.LOGNAME;
  if (fromEnv) return fromEnv;
  const result = await run('id', ['-un'], { env: ctx.env, timeoutMs: 5_000 });
  return result.ok ? result.stdout.trim() : undefined;
}

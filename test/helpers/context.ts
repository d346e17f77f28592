import { makePaths, type Context } from '../../src/core/context.js';

/** A Context for calling adapters in-process: this environment only, output dropped. */
export function testContext(env: Record<string, string>, cwd: string): Context {
  return {
    env,
    cwd,
    now: () => new Date(),
    paths: makePaths(env),
    stdout: () => undefined,
    stderr: () => undefined,
    isTTY: false,
    uid: process.getuid?.() ?? -1,
    nodePath: process.execPath,
    cliPath: '/nonexistent',
  };
}

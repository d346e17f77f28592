import { makePaths, type Context } from '../../src/core/context.js';

/**
 * A Context for calling adapters and stages in-process: this environment only; output
 * dropped, or collected into `options.out` (stdout and stderr alike).
 */
export function testContext(env: Record<string, string>, cwd: string, options: { out?: string[]; uid?: number } = {}): Context {
  const write = options.out ? (t: string) => void options.out!.push(t) : () => undefined;
  return {
    env,
    cwd,
    now: () => new Date(),
    paths: makePaths(env),
    stdout: write,
    stderr: write,
    isTTY: false,
    uid: options.uid ?? process.getuid?.() ?? -1,
    nodePath: process.execPath,
    cliPath: '/nonexistent',
  };
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capturedPath } from '../../src/scheduler/spec.js';
import { testContext } from '../helpers/context.js';

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-sched-path-')));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A folder with executables of these names (real files; a symlink for `node` when `linkTo`). */
function dir(name: string, files: string[], linkTo?: string): string {
  const d = path.join(root, name);
  fs.mkdirSync(d, { recursive: true });
  for (const f of files) {
    if (f === 'node' && linkTo) fs.symlinkSync(linkTo, path.join(d, f));
    else fs.writeFileSync(path.join(d, f), '#!/bin/sh\n', { mode: 0o755 });
  }
  return d;
}

describe('the PATH a scheduled run gets', () => {
  const system = dir('usr-bin', ['node', 'python3']);
  const pyenv = dir('pyenv-shims', ['python3']);
  const nvm = dir('nvm-bin', ['node', 'pm2']);
  const ctx = (PATH: string, nodePath: string) => ({ ...testContext({ PATH, HOME: root }, root), nodePath });

  it("keeps the operator's order when their PATH already finds this node (a pyenv python3 stays ahead of /usr/bin)", () => {
    expect(capturedPath(ctx(`${pyenv}:${system}:/bin`, path.join(system, 'node')))).toBe(`${pyenv}:${system}:/bin`);
  });

  it('the same node through a symlink counts as found', () => {
    const linked = dir('linked', ['node'], path.join(system, 'node'));
    expect(capturedPath(ctx(`${pyenv}:${linked}:${system}`, path.join(system, 'node')))).toBe(`${pyenv}:${linked}:${system}`);
  });

  it("puts the running node's folder first when the PATH would find another node (nvm), once", () => {
    expect(capturedPath(ctx(`${pyenv}:${system}:${nvm}:${system}`, path.join(nvm, 'node')))).toBe(`${nvm}:${pyenv}:${system}`);
  });

  it('puts it first when the PATH has no node at all; empty entries dropped', () => {
    expect(capturedPath(ctx(`${pyenv}::/bin`, path.join(nvm, 'node')))).toBe(`${nvm}:${pyenv}:/bin`);
  });
});

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ApiBehaviour } from './api.js';
import { runCli, type CliResult } from './cli.js';
import { updateSetup, type UpdateSetup } from './update-setup.js';

export interface StatusSetup extends UpdateSetup {
  namespace: string;
  stateFile: string;
  historyFile: string;
  /** Writes the namespace's state file directly, in the format of src/core/state.ts. */
  writeState(state: Record<string, unknown>): void;
  /** `alphacore status --config FILE [args]` with the setup's environment (plus `env`). */
  status(args?: string[], env?: Record<string, string>): Promise<CliResult & { report: Record<string, any>; ms: number }>;
}

/**
 * updateSetup's origin, deploy clone, config and API, in a namespace of its own: the
 * scheduler probe reads the real crontab of the user running the tests, so a fixed
 * name could meet an operator's real line.
 */
export async function statusSetup(options: { api?: ApiBehaviour | 'closed'; config?: string[] } = {}): Promise<StatusSetup> {
  const namespace = `st-${crypto.randomBytes(4).toString('hex')}`;
  const setup = await updateSetup({ api: options.api, config: [`PM2_NAMESPACE=${namespace}`, ...(options.config ?? [])] });
  const stateDir = path.join(setup.env.XDG_STATE_HOME!, 'alphacore', 'autoupdate');
  const stateFile = path.join(stateDir, `${namespace}.state.json`);
  return {
    ...setup,
    namespace,
    stateFile,
    historyFile: path.join(stateDir, `${namespace}.history.jsonl`),
    writeState(state) {
      fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(stateFile, JSON.stringify({ quarantine: [], ...state }, null, 2), { mode: 0o600 });
    },
    async status(args = ['--json'], env = {}) {
      const start = Date.now();
      const r = await runCli(['status', '--config', setup.configFile, ...args], { env: { ...setup.env, ...env }, timeoutMs: 30_000 });
      const ms = Date.now() - start;
      let report: Record<string, any> = {};
      if (args.includes('--json') && r.stdout.trim().startsWith('{')) report = JSON.parse(r.stdout) as Record<string, any>;
      return { ...r, report, ms };
    },
  };
}

/** A pid that certainly names no process: one that has just exited. */
export function deadPid(): number {
  return spawnSync('true').pid!;
}

/** An executable script in `dir` (e.g. a PM2_BIN that hangs or fails). */
export function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

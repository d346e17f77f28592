import fs from 'node:fs';
import path from 'node:path';
import { afterEach } from 'vitest';
import { closedPort } from '../helpers/api.js';
import type { CliResult } from '../helpers/cli.js';
import { fixtureGit } from '../helpers/alphacore-fixture.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { createRealSetup, type RealSetup } from '../helpers/real-repo.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runAs, runCliAs, userTempDir, type StagedRun } from '../helpers/user.js';
import { until } from '../helpers/poll.js';

export { until };
import { createWallet, homeWallets } from '../helpers/wallet.js';

/**
 * A validator machine on the real AlphaCore repository (DESIGN.md §8): its clone, its
 * scripts and ecosystem files under a real, isolated PM2, as the throwaway user; only
 * Python is the fake runtime (first on PATH).
 */
export interface ContractWorld extends RealSetup {
  run: StagedRun;
  pm2: IsolatedPm2;
  env: Record<string, string>;
  creds: string;
  apiPort: number;
  httpPort: number;
  apiUrl: string;
  configFile: string;
  stateDir: string;
  /** The validator's flags for `alphacore launch` (cold/hot on test, this world's ports). */
  launchFlags(...more: string[]): string[];
  cli(args: string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<CliResult>;
  /** Runs a script of the clone with bash, as the user, in the world's environment. */
  bash(script: string, args: string[], env?: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** The Validation API through the repo's own launch_validation_api.sh. */
  launchApi(): Promise<void>;
  head(): string;
  /**
   * The machine as the operator sets it up: the API by the repo's script, then
   * `alphacore launch`; the config then gets the API's port and short health times.
   */
  launched(...flags: string[]): Promise<void>;
  update(args?: string[]): Promise<CliResult>;
  /** The namespace's processes by name: [name, status]. */
  services(): [string, string][];
  /** `pm2 jlist` as PM2 prints it (raw entries). */
  jlist(): JlistEntry[];
}

export interface JlistEntry {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: Record<string, unknown> & { env?: Record<string, string>; namespace: string; status: string; restart_time: number };
}

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

export async function contractWorld(run: StagedRun, options: { releaseAt?: string; env?: Record<string, string> } = {}): Promise<ContractWorld> {
  const root = userTempDir(run.user, 'alphacore-contract-');
  const setup = await createRealSetup({ root: path.join(root, 'real'), releaseAt: options.releaseAt });
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'contract@proj.iam.gserviceaccount.com' }));
  const [apiPort, httpPort] = [await closedPort(), await closedPort()];
  const base = isolatedEnv(root);
  // launch refuses a wallet it cannot find: the one the flags name, where it looks by default.
  createWallet(homeWallets(base.HOME!), 'cold', ['hot', 'hot2']);
  const env: Record<string, string> = { ...base, ...pm2.env, PATH: `${setup.fake.bin}:${pm2.env.PATH}`, HEALTH_STABLE: '2s', HEALTH_TIMEOUT: '40s', ...options.env };
  await chownTree(root, run.user);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const bash = async (script: string, args: string[], extra: Record<string, string> = {}) => {
    const r = await runAs(run.user, '/bin/bash', [path.join(setup.deploy, script), ...args], { env: { ...env, ...extra }, cwd: setup.deploy, timeoutMs: 120_000 });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const self: ContractWorld = {
    ...setup,
    run,
    pm2,
    env,
    creds,
    apiPort,
    httpPort,
    apiUrl,
    configFile: path.join(env.XDG_CONFIG_HOME!, 'alphacore', 'autoupdate', 'alphacore.env'),
    stateDir: path.join(env.XDG_STATE_HOME!, 'alphacore', 'autoupdate'),
    launchFlags: (...more) => [
      'launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds,
      '--validation-api-endpoint', apiUrl, '--http-port', String(httpPort), '--disable-llm', '--no-autoupdate', ...more,
    ],
    cli: (args, o = {}) => runCliAs(run, args, { env: { ...env, ...o.env }, cwd: o.cwd ?? setup.deploy, timeoutMs: 240_000 }),
    bash,
    async launchApi() {
      const r = await bash('scripts/validator/process/launch_validation_api.sh', ['--gcp-creds-file', creds, '--port', String(apiPort), '--pm2-namespace', 'alphacore']);
      if (r.exitCode !== 0) throw new Error(`launch_validation_api.sh failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
      await until(() => fetch(`${apiUrl}/validate/active`).then((res) => (res.ok ? true : undefined)).catch(() => undefined));
    },
    head: () => fixtureGit(setup.deploy, 'rev-parse', 'HEAD'),
    async launched(...flags) {
      await self.launchApi();
      const r = await self.cli(self.launchFlags(...flags));
      if (r.exitCode !== 0) throw new Error(`launch failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
      fs.appendFileSync(self.configFile, ['HEALTH_STABLE=2s', 'HEALTH_TIMEOUT=40s', ''].join('\n'));
    },
    update: (args = []) => runCliAs(run, ['update', '--config', self.configFile, '--json', ...args], { env, cwd: env.HOME, timeoutMs: 240_000 }),
    services: () =>
      self
        .jlist()
        .filter((p) => p.pm2_env.namespace === 'alphacore')
        .map((p) => [p.name, p.pm2_env.status] as [string, string])
        .sort(),
    jlist: () => {
      const out = pm2.pm2('jlist');
      const line = out.split('\n').filter((l) => l.trim().startsWith('[')).at(-1) ?? '[]';
      return JSON.parse(line) as JlistEntry[];
    },
  };
  return self;
}

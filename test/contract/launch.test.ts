import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../src/core/envfile.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld, until, type JlistEntry } from './contract-world.js';

// `alphacore launch` on a clone of the real AlphaCore repository starts what the repo's
// launch_validator.sh starts (issue 9; DESIGN.md §4, §10), read from PM2's own view.
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
if (staged.skip) console.log(`contract tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;

/** What of a PM2 process the contract fixes, with the clone's path made relative. */
function view(p: JlistEntry, repo: string) {
  const e = p.pm2_env;
  const env = { ...(e as Record<string, unknown>), ...(e.env ?? {}) } as Record<string, string>;
  const rel = (v: unknown) => (typeof v === 'string' ? v.split(repo).join('<repo>') : v);
  return {
    name: p.name,
    namespace: e.namespace,
    script: rel(e.pm_exec_path),
    interpreter: e.exec_interpreter,
    cwd: rel(e.pm_cwd),
    autorestart: e.autorestart,
    max_restarts: e.max_restarts,
    restart_delay: e.restart_delay,
    out: rel(e.pm_out_log_path),
    error: rel(e.pm_err_log_path),
    merge_logs: e.merge_logs,
    log_date_format: e.log_date_format,
    ENTRYPOINT: env.ENTRYPOINT,
    ENV_FILE: rel(env.ENV_FILE),
    VENV_DIR: rel(env.VENV_DIR),
    PROCESS_NAME: env.PROCESS_NAME,
    LOG_DIR: rel(env.LOG_DIR),
  };
}

// Real scripts, pip and PM2 restarts with their 5 s delay: minutes on a loaded machine.
describe.skipIf(skip)('contract: alphacore launch on the real repository', { timeout: 300_000 }, () => {
  it('starts the validator through scripts/validator/process/pm2.config.js as launch_validator.sh does, with the private round lockfile', async () => {
    const w = await contractWorld(run);
    await w.launchApi();
    const r = await w.cli(w.launchFlags());
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Healthy:');

    const ours = w.jlist().find((p) => p.name === 'validator-hot-test')!;
    const lockfile = path.join(w.stateDir, 'alphacore.round.lock');
    expect(view(ours, w.deploy)).toEqual({
      name: 'validator-hot-test',
      namespace: 'alphacore',
      script: '<repo>/scripts/validator/process/start_validator_pm2.sh',
      interpreter: '/bin/bash',
      cwd: '<repo>',
      autorestart: true,
      max_restarts: 10,
      restart_delay: 5000,
      out: '<repo>/logs/pm2/validator-hot-test.out.log',
      error: '<repo>/logs/pm2/validator-hot-test.error.log',
      merge_logs: true,
      log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
      ENTRYPOINT: 'scripts/start_validator.py',
      ENV_FILE: '<repo>/env/test/validator-cold-hot.env',
      VENV_DIR: '<repo>/venv',
      PROCESS_NAME: 'validator-hot-test',
      LOG_DIR: '<repo>/logs/pm2',
    });
    const config = Object.fromEntries(parseEnvFile(fs.readFileSync(w.configFile, 'utf8'), { source: w.configFile, home: w.env.HOME! }).map((e) => [e.key, e.value]));
    expect(config.VALIDATOR_ROUND_LOCKFILE).toBe(lockfile);
    expect({ ...ours.pm2_env, ...ours.pm2_env.env }.ALPHACORE_ROUND_LOCKFILE).toBe(lockfile);
    expect(fs.statSync(path.dirname(lockfile)).mode & 0o777).toBe(0o700);

    // What the (fake) validator itself was started with: the real wrapper's exec.
    const start = await until(() => w.fake.validatorStarts().find((s) => s.pid === ours.pid));
    expect([start.entry, start.argv, start.cwd]).toEqual(['scripts/start_validator.py', ['--logging.info'], w.deploy]);
    expect(start.env).toMatchObject({ ALPHACORE_ROUND_LOCKFILE: lockfile, VIRTUAL_ENV: path.join(w.deploy, 'venv'), ALPHACORE_HTTP_PORT: String(w.httpPort), ALPHACORE_VALIDATION_API_ENDPOINT: w.apiUrl });
    // The task-generation API that scripts/start_validator.py adds answers on --http-port.
    expect(await until(() => fetch(`http://127.0.0.1:${w.httpPort}/health`).then((res) => res.status).catch(() => undefined))).toBe(200);
    // launch created the venv and installed the repo's requirements into it.
    expect(w.fake.installed(path.join(w.deploy, 'venv'))).toEqual(expect.arrayContaining(['bittensor', 'fastapi', 'pip']));

    // The bash launcher on another clone (its own PM2), same flags: the same PM2 view.
    const bashClone = path.join(w.root, 'bash', 'AlphaCore');
    const { cloneRealDeploy } = await import('../helpers/real-repo.js');
    cloneRealDeploy(w.origin, bashClone);
    const { chownTree } = await import('../helpers/user.js');
    await chownTree(path.join(w.root, 'bash'), run.user);
    const { isolatedPm2 } = await import('../helpers/pm2.js');
    const bashPm2 = isolatedPm2(path.join(w.root, 'bash'), { packageRoot: run.packageRoot, owner: run.user });
    try {
      const { runAs } = await import('../helpers/user.js');
      const env = { ...w.env, PM2_HOME: bashPm2.home };
      const flags = w.launchFlags().slice(1).map((f) => (f === String(w.httpPort) ? String(w.httpPort + 1) : f));
      const b = await runAs(run.user, '/bin/bash', [path.join(bashClone, 'scripts/validator/process/launch_validator.sh'), ...flags], { env, cwd: bashClone });
      expect(b.exitCode, String(b.stdout) + String(b.stderr)).toBe(0);
      const theirs = JSON.parse(bashPm2.pm2('jlist').split('\n').filter((l) => l.startsWith('[')).at(-1)!) as JlistEntry[];
      expect(theirs.map((p) => view(p, bashClone))).toEqual([view(ours, w.deploy)]);
      // The env files: the same keys with the same values, in the same order; ours adds the round lockfile.
      const read = (file: string, repo: string) => parseEnvFile(fs.readFileSync(file, 'utf8'), { source: file, home: w.env.HOME! }).map((e) => [e.key, e.value.split(repo).join('<repo>')]);
      const mine = read(path.join(w.deploy, 'env/test/validator-cold-hot.env'), w.deploy).filter(([k]) => k !== 'ALPHACORE_HTTP_PORT');
      const bashEnv = read(path.join(bashClone, 'env/test/validator-cold-hot.env'), bashClone).filter(([k]) => k !== 'ALPHACORE_HTTP_PORT');
      expect(mine).toEqual([...bashEnv, ['ALPHACORE_ROUND_LOCKFILE', lockfile]]);
    } finally {
      bashPm2.kill();
    }
  });
});

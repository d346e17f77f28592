import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort } from '../helpers/api.js';
import { createAlphaCoreSetup, fixtureGit, pushRelease } from '../helpers/alphacore-fixture.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/poll.js';

// The AlphaCore-shaped fixture itself: what launch and the update-restart tests rely on.
let daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

async function world() {
  const root = tempDir('alphacore-fixture-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx') });
  const pm2 = isolatedPm2(root);
  daemons.push(pm2);
  const env = { PATH: pm2.env.PATH, HOME: root, PM2_HOME: pm2.home, ...setup.control.env };
  // The validator's task-generation port: a free one, never the machine's 8000 (trial defect 19).
  return { root, setup, pm2, env, httpPort: await closedPort() };
}

function startValidator(w: Awaited<ReturnType<typeof world>>, lockfile: string) {
  const envFile = path.join(w.root, 'v.env');
  // No Validation API here: the stub, like the real validator, only skips it when disabled.
  fs.writeFileSync(envFile, `ALPHACORE_NETUID="5"\nALPHACORE_VALIDATION_API_ENABLED="false"\nALPHACORE_HTTP_PORT="${w.httpPort}"\n`);
  execFileSync(path.join(w.pm2.env.PATH.split(':')[0]!, 'pm2'), ['start', path.join(w.setup.deploy, 'scripts/validator/process/pm2.config.js'), '--name', 'v', '--update-env'], {
    env: { ...w.env, PROCESS_NAME: 'v', PM2_NAMESPACE: 'fx', ENV_FILE: envFile, VENV_DIR: w.setup.venv, ALPHACORE_ROUND_LOCKFILE: lockfile },
    stdio: 'ignore',
  });
}

describe('AlphaCore fixture repo', () => {
  it('launch_validation_api.sh starts the API stub in the namespace, records argv as separate words, and reports busy jobs when told', async () => {
    const w = await world();
    const port = await closedPort();
    const script = path.join(w.setup.deploy, 'scripts/validator/process/launch_validation_api.sh');
    const creds = path.join(w.root, 'sa.json');
    fs.writeFileSync(creds, '{}');
    const noAuth = spawnSync('bash', [script, '--pm2-namespace', 'fx'], { env: w.env, encoding: 'utf8' });
    expect([noAuth.status, noAuth.stderr]).toEqual([1, expect.stringContaining('Missing auth: pass --gcp-creds-file or set GOOGLE_OAUTH_ACCESS_TOKEN')]);
    const args = ['--pm2-namespace', 'fx', '--gcp-creds-file', creds, '--process-name', 'api', '--bind-host', '127.0.0.1', '--port', String(port), '--workers', 'two words'];
    for (let i = 0; i < 2; i += 1) expect(spawnSync('bash', [script, ...args], { env: w.env, encoding: 'utf8' }).status).toBe(0);
    expect(w.setup.control.apiLaunches().at(-1)).toEqual(args);
    expect(w.pm2.list().filter((p) => p.name === 'api').map((p) => [p.namespace, p.status])).toEqual([['fx', 'online']]);
    const active = () => fetch(`http://127.0.0.1:${port}/validate/active`).then((r) => r.json() as Promise<{ active: unknown[] }>).catch(() => undefined);
    expect(await until(active)).toEqual({ active: [] });
    w.setup.control.setBusy(['job-7']);
    expect(await active()).toEqual({ active: ['job-7'] });
  });

  it('the validator stub holds the round lockfile when told and releases it', async () => {
    const w = await world();
    const lockfile = path.join(w.root, 'round.lock');
    startValidator(w, lockfile);
    const started = await until(() => w.setup.control.validatorStarts()[0]);
    // Through the ecosystem file and the wrapper: the entry point and the logging flag, as the real ones.
    expect(started).toMatchObject({ entry: 'scripts/start_validator.py', argv: [] });
    expect(started.env).toMatchObject({ ALPHACORE_NETUID: '5', VIRTUAL_ENV: w.setup.venv, ENTRYPOINT: 'scripts/start_validator.py', ALPHACORE_ROUND_LOCKFILE: lockfile });
    expect(w.pm2.list().find((p) => p.name === 'v')).toMatchObject({ namespace: 'fx', maxRestarts: 10, restartDelayMs: 5000, errorLog: path.join(w.setup.deploy, 'logs', 'pm2', 'v.error.log') });
    w.setup.control.holdRoundLock({ round_id: 'r-9' });
    const lock = await until(() => (fs.existsSync(lockfile) ? (JSON.parse(fs.readFileSync(lockfile, 'utf8')) as Record<string, unknown>) : undefined));
    expect(lock).toMatchObject({ round_id: 'r-9', block: 1, pid: started.pid });
    // A restart is never mid-round: the new process removes the leftover lock.
    w.setup.control.releaseRoundLock();
    await until(() => (fs.existsSync(lockfile) ? undefined : true));
    w.pm2.pm2('stop', 'v');
    fs.writeFileSync(lockfile, '{"round_id":"left-by-a-crash","block":1,"ts":1,"pid":1}');
    w.pm2.pm2('restart', 'v');
    await until(() => (fs.existsSync(lockfile) ? undefined : true));
    w.setup.control.releaseRoundLock();
    await until(() => (fs.existsSync(lockfile) ? undefined : true));
  });

  it('per-commit behaviour: crash makes PM2 restart it; fail-script makes the wrapper exit non-zero', async () => {
    const w = await world();
    pushRelease(w.setup.origin, { validator: 'crash', version: '2.0.0' });
    fixtureGit(w.setup.deploy, 'pull', '--quiet');
    expect(fs.readFileSync(path.join(w.setup.deploy, 'VERSION'), 'utf8')).toBe('2.0.0\n');
    startValidator(w, path.join(w.root, 'round.lock'));
    await until(() => (w.pm2.list()[0]!.restarts >= 1 ? true : undefined));
    expect(w.setup.control.validatorStarts().every((s) => s.mode === 'crash' && s.version === '2.0.0')).toBe(true);

    pushRelease(w.setup.origin, { validator: 'fail-script' });
    fixtureGit(w.setup.deploy, 'pull', '--quiet');
    const run = spawnSync('bash', [path.join(w.setup.deploy, 'scripts/validator/process/start_validator_pm2.sh')], { env: w.env, encoding: 'utf8' });
    expect(run.status).toBe(3);
  });
});

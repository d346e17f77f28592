import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort } from '../helpers/api.js';
import { installFakePython, type FakePython } from '../helpers/fake-python.js';
import { createRealSetup, realRepoSkip } from '../helpers/real-repo.js';
import { tempDir } from '../helpers/tmp.js';
import { judgeWarmup, parseWarmupLog, WEIGHTS_LINES } from '../../src/domain/warmup.js';
import { until } from '../helpers/poll.js';

// The fake Python runtime answers what the real scripts ask (DESIGN.md §8, §10).
const children: number[] = [];
afterEach(() => {
  for (const pid of children.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

function world(): { root: string; fake: FakePython; env: Record<string, string> } {
  const root = tempDir('alphacore-fakepy-');
  const fake = installFakePython(path.join(root, 'python'));
  return { root, fake, env: { PATH: `${fake.bin}:${process.env.PATH}`, HOME: root, LANG: 'C' } };
}

const bash = (script: string, env: Record<string, string>, cwd?: string) => spawnSync('bash', ['-c', script], { env, cwd, encoding: 'utf8' });

describe('fake python runtime', () => {
  it('python3 -m venv makes a venv whose activate works under set -euo pipefail, and pip records what it installs', () => {
    const w = world();
    const req = path.join(w.root, 'requirements.txt');
    fs.writeFileSync(req, '# deps\nbittensor\nFastAPI>=0.1  # web\npython_hcl2\n-r extra.txt\n');
    fs.writeFileSync(path.join(w.root, 'extra.txt'), 'uvicorn[standard]==0.30\n');
    const venv = path.join(w.root, 'v env');
    const run = bash(
      `set -euo pipefail; IFS=$'\\n\\t'; python3 -m venv "${venv}"; source "${venv}/bin/activate"; echo "VE=$VIRTUAL_ENV"; command -v python; python -m pip install -U pip; python -m pip install -r "${req}"; deactivate; echo "after=\${VIRTUAL_ENV:-none}"`,
      w.env,
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`VE=${venv}\n${venv}/bin/python\n`);
    expect(run.stdout).toContain('after=none');
    expect(w.fake.installed(venv)).toEqual(['bittensor', 'fastapi', 'pip', 'python-hcl2', 'uvicorn']);
    expect(w.fake.pipRuns().map((r) => [r.ok, r.noIndex, r.wanted])).toEqual([
      [true, false, ['pip']],
      [true, false, ['bittensor', 'fastapi', 'python-hcl2', 'uvicorn']],
    ]);
    expect(bash('python3 -c "import venv, ensurepip"', w.env).status).toBe(0);
    expect(bash('python3 -m pip install x', w.env).stderr).toContain('externally-managed-environment');
  });

  it('in an AlphaCore-shaped fixture clone, a venv python execs the clone\'s own stubs (same pid) and pip records for the fixture too', () => {
    const w = world();
    const clone = path.join(w.root, 'clone');
    fs.mkdirSync(path.join(clone, 'fixture'), { recursive: true });
    // Stand-ins for the fixture's stubs: they print what they were run with, and their pid.
    fs.writeFileSync(path.join(clone, 'fixture', 'validator.mjs'), 'console.log(JSON.stringify({ stub: "validator", entry: process.env.FIXTURE_ENTRYPOINT, args: process.argv.slice(2), pid: process.pid }));\n');
    fs.writeFileSync(path.join(clone, 'fixture', 'api.mjs'), 'console.log(JSON.stringify({ stub: "api", pid: process.pid }));\n');
    const venv = path.join(w.root, 'venv');
    expect(bash(`python3 -m venv "${venv}"`, w.env).status).toBe(0);
    const control = tempDir('alphacore-fakepy-fixture-');
    const env = { ...w.env, ALPHACORE_FIXTURE_CONTROL: control };
    // exec: the process the shell started is the stub itself (PM2 watches that pid).
    const validator = bash(`"${venv}/bin/python" scripts/start_validator.py --netuid 7 & wait $!; echo "shell-child=$!"`, env, clone);
    const said = JSON.parse(validator.stdout.split('\n')[0]!) as { stub: string; entry: string; args: string[]; pid: number };
    expect(said).toMatchObject({ stub: 'validator', entry: 'scripts/start_validator.py', args: ['--netuid', '7'] });
    expect(validator.stdout).toContain(`shell-child=${said.pid}`);
    const api = bash(`"${venv}/bin/python" -m modules.evaluation.validation.sandbox.validation_api`, env, clone);
    expect(JSON.parse(api.stdout)).toMatchObject({ stub: 'api' });
    fs.writeFileSync(path.join(clone, 'req.txt'), 'fakepkg\n');
    expect(bash(`"${venv}/bin/python" -m pip install -r req.txt`, env, clone).status).toBe(0);
    expect(fs.readFileSync(path.join(control, 'pip.jsonl'), 'utf8')).toBe(`${JSON.stringify(['install', '-r', 'req.txt'])}\n`);
    // Outside such a clone the same venv python is the runtime's own.
    expect(bash(`"${venv}/bin/python" --version`, env, w.root).stdout).toContain('(fake)');
  });

  it('network down: pip fails unless PIP_NO_INDEX=1 and everything asked for is installed', () => {
    const w = world();
    const req = path.join(w.root, 'req.txt');
    fs.writeFileSync(req, 'fastapi\n');
    const venv = path.join(w.root, 'venv');
    expect(bash(`python3 -m venv ${venv} && ${venv}/bin/pip install -r ${req}`, w.env).status).toBe(0);
    w.fake.networkDown();
    expect(bash(`${venv}/bin/pip install -r ${req}`, w.env).status).toBe(1);
    expect(bash(`PIP_NO_INDEX=1 ${venv}/bin/python -m pip install -U pip && PIP_NO_INDEX=1 ${venv}/bin/pip install -r ${req}`, w.env).status).toBe(0);
    fs.appendFileSync(req, 'openai\n');
    const missing = bash(`PIP_NO_INDEX=1 ${venv}/bin/pip install -r ${req}`, w.env);
    expect([missing.status, missing.stderr]).toEqual([1, expect.stringContaining('No matching distribution found for openai')]);
    w.fake.networkDown(false);
    expect(bash(`PIP_NO_INDEX=1 ${venv}/bin/pip install -r ${req}`, w.env).status).toBe(1);
    expect(bash(`${venv}/bin/pip install -r ${req}`, w.env).status).toBe(0);
  });

  it('the API serves /health and /validate/active; the validator needs it, removes a leftover lock, holds and ends rounds', async () => {
    const w = world();
    const repo = path.join(w.root, 'repo');
    fs.mkdirSync(path.join(repo, 'scripts'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'scripts', 'start_validator.py'), '# real one not needed\n');
    const venv = path.join(w.root, 'venv');
    expect(bash(`python3 -m venv ${venv}`, w.env).status).toBe(0);
    const [apiPort, httpPort] = [await closedPort(), await closedPort()];
    const lockfile = path.join(w.root, 'state', 'round.lock');
    const env = { ...w.env, PATH: `${venv}/bin:${w.env.PATH}`, ALPHACORE_VALIDATION_API_ENDPOINT: `http://127.0.0.1:${apiPort}`, ALPHACORE_ROUND_LOCKFILE: lockfile, ALPHACORE_HTTP_PORT: String(httpPort) };
    // Without the API the validator refuses to start (fail-fast on the Validation API).
    const refused = spawnSync('python', ['scripts/start_validator.py', '--logging.info'], { env, cwd: repo, encoding: 'utf8' });
    expect([refused.status, refused.stderr]).toEqual([1, expect.stringContaining('Validation API not ready')]);

    const api = spawn('python', ['-m', 'modules.evaluation.validation.sandbox.validation_api'], { env: { ...env, ALPHACORE_VALIDATION_HTTP_PORT: String(apiPort) }, cwd: repo, stdio: 'ignore' });
    children.push(api.pid!);
    const active = () => fetch(`http://127.0.0.1:${apiPort}/validate/active`).then((r) => r.json()).catch(() => undefined);
    expect(await until(active)).toEqual({ active: [] });
    w.fake.setBusy(['job-1']);
    expect(await active()).toEqual({ active: [{ job_id: 'job-1', status: 'running', log_url: '/validate/job-1/log' }] });

    fs.mkdirSync(path.dirname(lockfile), { recursive: true });
    fs.writeFileSync(lockfile, '{"round_id":"left","block":1,"ts":1,"pid":1}\n');
    const validator = spawn('python', ['scripts/start_validator.py', '--logging.info'], { env, cwd: repo, stdio: 'ignore' });
    children.push(validator.pid!);
    await until(() => (fs.existsSync(lockfile) ? undefined : true));
    expect(await until(() => fetch(`http://127.0.0.1:${httpPort}/health`).then((r) => r.status).catch(() => undefined))).toBe(200);
    const start = w.fake.validatorStarts().at(-1)!;
    expect([start.pid, start.entry, start.argv, start.env.ALPHACORE_ROUND_LOCKFILE]).toEqual([validator.pid, 'scripts/start_validator.py', ['--logging.info'], lockfile]);
    w.fake.holdRound({ round_id: 'r-7', block: 42 });
    const lock = await until(() => (fs.existsSync(lockfile) ? JSON.parse(fs.readFileSync(lockfile, 'utf8')) : undefined));
    expect(lock).toEqual({ round_id: 'r-7', block: 42, ts: expect.any(Number), pid: validator.pid });
    w.fake.releaseRound();
    await until(() => (fs.existsSync(lockfile) ? undefined : true));
  });

  it('the validator logs the weights warm-up in the real formats: 0/M at the start, a task per epoch, weights from M on', async () => {
    const w = world();
    const repo = path.join(w.root, 'repo');
    fs.mkdirSync(path.join(repo, 'neurons'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'neurons', 'validator.py'), '\n');
    const env = { ...w.env, ALPHACORE_VALIDATION_API_ENABLED: 'false', ALPHACORE_FAKE_EPOCH_MS: '400', ALPHACORE_WEIGHTS_MIN_TASKS_BEFORE_EMIT: '2' };
    const validator = spawn('python3', ['neurons/validator.py'], { env, cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(validator.pid!);
    let out = '';
    validator.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const emitted = await until(() => (WEIGHTS_LINES.emitted.test(out) ? out : undefined));
    const lines = emitted.split('\n').filter((l) => l.includes('[WEIGHTS]'));
    expect(lines[0]).toMatch(/\| \[WEIGHTS\] Emitter started \(offset=0, min_tasks=2, poll=0\.1s\)$/);
    const checks = lines.filter((l) => WEIGHTS_LINES.epochCheck.test(l)).map((l) => WEIGHTS_LINES.epochCheck.exec(l)![4]);
    expect(checks[0]).toBe('0');
    expect(checks.map(Number)).toEqual([...checks.map(Number)].sort((a, b) => a - b));
    // The toolkit's parser reads it: emitting, M=2 (dates come from PM2, absent here).
    expect(judgeWarmup(parseWarmupLog(emitted), { log: 'stdout' })).toMatchObject({ state: 'emitting', tasksNeeded: 2 });
  });

  it('a committed .fake-python.json makes that release crash, whatever the test set', async () => {
    const w = world();
    const repo = path.join(w.root, 'repo');
    fs.mkdirSync(path.join(repo, 'neurons'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'neurons', 'validator.py'), '\n');
    fs.writeFileSync(path.join(repo, '.fake-python.json'), '{"validator":"crash"}');
    w.fake.set({ validator: 'ok' });
    const run = spawnSync('python3', ['neurons/validator.py'], { env: { ...w.env, ALPHACORE_VALIDATION_API_ENABLED: 'false' }, cwd: repo, encoding: 'utf8' });
    expect([run.status, run.stderr]).toEqual([1, expect.stringContaining('crashing as told')]);
  });
});

describe.skipIf(realRepoSkip())('real repository helper', () => {
  it('origin release one commit behind main; advance() and pushSettings() move it; the deploy clone fetches them', async () => {
    const root = tempDir('alphacore-realrepo-');
    const w = await createRealSetup({ root });
    const git = (...args: string[]) => spawnSync('git', ['-C', w.deploy, ...args], { encoding: 'utf8' }).stdout.trim();
    expect(git('rev-parse', 'HEAD')).toBe(w.origin.initial);
    expect(fs.existsSync(path.join(w.deploy, 'scripts/validator/process/pm2.config.js'))).toBe(true);
    expect(w.origin.advance()).toBe(w.origin.latest);
    const crash = w.origin.pushSettings({ validator: 'crash' });
    git('fetch', '--quiet', 'origin', 'release');
    expect(git('rev-parse', 'origin/release')).toBe(crash);
    expect(git('rev-parse', `${crash}^`)).toBe(w.origin.latest);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlphaCoreSetup, pushRelease, type AlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { closedPort } from '../helpers/api.js';
import { runCli } from '../helpers/cli.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { restartWorld } from '../helpers/restart-world.js';
import { CONTROL, cliInTerminal } from '../helpers/terminal.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

/**
 * launch --json, and progress on long steps (issue 12): a live line per phase on a
 * real pseudo-terminal, plain lines on a pipe, nothing extra with --json, and pip's
 * full output in the log file rather than on the terminal.
 */
const staged = stage();
if (staged.skip) console.log(`launch progress e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

interface World {
  setup: AlphaCoreSetup;
  pm2: IsolatedPm2;
  env: Record<string, string>;
  creds: string;
  root: string;
  logFile: string;
  httpPort: number;
}

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

async function world(): Promise<World> {
  const root = userTempDir(run.user, 'alphacore-progress-e2e-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user });
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  fs.writeFileSync(path.join(setup.deploy, 'modules', 'requirements.txt'), 'fakepkg\n');
  const base = isolatedEnv(root);
  // HEALTH_STABLE short: launch waits that long for a healthy validator.
  // The fake runtime's pip, chatty on stdout and stderr as a real install is.
  setup.python.set({ pipChatter: true });
  const env = { ...base, ...pm2.env, ...setup.control.env, HEALTH_STABLE: '2s', PATH: `${setup.python.bin}:${pm2.env.PATH}` };
  createWallet(homeWallets(base.HOME!), 'cold', ['hot']);
  await chownTree(root, run.user);
  return { setup, pm2, env, creds, root, logFile: path.join(base.XDG_STATE_HOME!, 'alphacore', 'autoupdate', 'alphacore.log'), httpPort: await closedPort() };
}

// Each world's validator serves its own free port, never the machine's 8000 (trial defect 19).
const flags = (w: World, ...more: string[]) => [
  'launch', '--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '7', '--network', 'test', '--gcp-creds-file', w.creds, '--no-autoupdate', '--disable-llm', '--disable-validation-api',
  '--http-port', String(w.httpPort), ...more,
];
const newVenv = (w: World) => ['--venv-dir', path.join(w.root, 'new venv')];

e2e('launch --json and progress (built CLI as a non-root user, real PM2, a real pseudo-terminal)', () => {
  it('--json: one object with the plan and the result; nothing else on stdout; secrets masked', async () => {
    const w = await world();
    const r = await runCliAs(run, flags(w, '--json', '--openai-api-key', 'sk-json-secret-123'), { env: w.env, cwd: w.setup.deploy });
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const body = JSON.parse(r.stdout) as Record<string, any>; // the whole of stdout is one object
    expect(body.ok).toBe(true);
    expect(body.plan).toMatchObject({ namespace: 'alphacore', processName: 'validator-hot-test', envFile: { path: path.join(w.setup.deploy, 'env', 'test', 'validator-cold-hot.env'), mode: '0600' } });
    expect(body.plan.pm2.command.slice(0, 2)).toEqual(['pm2', 'start']);
    expect(body.result).toMatchObject({ dryRun: false, envFile: 'created', autoupdateConfig: 'created', process: { name: 'validator-hot-test', namespace: 'alphacore' } });
    expect(body.result.process.pmId).toBe(w.pm2.list().find((p) => p.name === 'validator-hot-test')!.pmId);
    expect(body.result.messages.join('\n')).toContain('Wrote validator env file');
    expect(r.stdout).not.toContain('sk-json-secret-123');
    expect(r.stdout).toContain('***');

    const dry = await runCliAs(run, flags(w, '--json', '--dry-run'), { env: w.env, cwd: w.setup.deploy });
    expect(dry.exitCode).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ ok: true, result: { dryRun: true, envFile: 'would update' } });
  });

  it('--json errors: a JSON object, exit codes unchanged (2 bad flags, 2 as root), nothing written', async () => {
    const w = await world();
    const bad = await runCliAs(run, ['launch', '--netuid', 'seven', '--network', 'mainnet', '--json'], { env: w.env, cwd: w.setup.deploy });
    expect(bad.exitCode).toBe(2);
    const body = JSON.parse(bad.stdout) as Record<string, any>;
    expect(body).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2 }, plan: null });
    expect(body.error.problems.join('\n')).toMatch(/--wallet-name[\s\S]*--netuid seven[\s\S]*--network mainnet/);
    expect(fs.existsSync(path.join(w.setup.deploy, 'env'))).toBe(false);

    const asRoot = await runCli(flags(w, '--json'), { env: w.env, cwd: w.setup.deploy });
    expect(asRoot.exitCode).toBe(2);
    expect(JSON.parse(asRoot.stdout)).toMatchObject({ ok: false, error: { message: expect.stringContaining('refuses to run as root') } });
  });

  it('on a terminal: a live line per phase with its time; pip\'s output goes to the log, not the screen', async () => {
    const w = await world();
    const r = await cliInTerminal(run, flags(w, ...newVenv(w)), { env: w.env, cwd: w.setup.deploy });
    const out = String(r.stdout);
    expect(r.exitCode, out).toBe(0);
    expect(out).toContain('\r\x1b[2K'); // the live line, redrawn in place
    expect(out).toMatch(/\+ Creating the validator venv .* -m venv\): done \(\d+\.\ds\)/);
    expect(out).toMatch(/\+ Installing modules\/requirements\.txt into it \(pip; full output in the log\): done \(\d+\.\ds\)/);
    expect(out).toMatch(/\+ Starting validator-hot-test under PM2: done \(\d+\.\ds\)/);
    expect(out).toMatch(/\+ Waiting for validator-hot-test to be healthy: done \(\d+\.\ds\)/);
    expect(out).not.toContain('Collecting fakepkg');
    const log = fs.readFileSync(w.logFile, 'utf8');
    for (const line of ['Collecting fakepkg1 ', 'Collecting fakepkg40 ', 'WARNING: pip says this on stderr', 'Successfully installed']) expect(log).toContain(line);
    expect(log).toMatch(/\[launch\] Installing modules\/requirements\.txt .*: done/);
    expect(log).toContain('[launch] Wrote validator env file');
  });

  it('on a pipe: plain lines with the time, no control characters', async () => {
    const w = await world();
    const r = await runCliAs(run, flags(w, ...newVenv(w)), { env: w.env, cwd: w.setup.deploy });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout).toMatch(/^Installing modules\/requirements\.txt into it \(pip; full output in the log\)\.\.\.$/m);
    expect(r.stdout).toMatch(/^Installing modules\/requirements\.txt into it .*: done \(\d+\.\ds\)$/m);
    expect(r.stdout).not.toContain('Collecting fakepkg');
  });

  it('update: a live line per phase on a terminal, plain log lines on a pipe, only JSON with --json', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    pushRelease(w.setup.origin, { version: '1.1.0' });
    const tty = await cliInTerminal(run, ['update', '--config', w.configFile], { env: w.env, timeoutMs: 180_000 });
    const out = String(tty.stdout);
    expect(tty.exitCode, out).toBe(0);
    expect(out).toContain('\r\x1b[2K');
    expect(out).toMatch(/\+ waiting for the validator to be healthy: done \(\d+\.\ds\)/);
    expect(fs.readFileSync(w.logFile, 'utf8')).toMatch(/\[autoupdate\] waiting for the validator to be healthy: done/);

    pushRelease(w.setup.origin, { version: '1.2.0' });
    const piped = await w.update();
    expect(piped.exitCode, piped.stdout).toBe(0);
    expect(piped.stdout).not.toMatch(CONTROL);
    expect(piped.stdout).toMatch(/\] \[autoupdate\] waiting for the validator to be healthy\.\.\.\n/);
    expect(piped.stdout).toMatch(/\] \[autoupdate\] waiting for the validator to be healthy: done \(\d+\.\ds\)\n/);

    pushRelease(w.setup.origin, { version: '1.3.0' });
    const json = await w.update(['--json']);
    expect(json.exitCode).toBe(0);
    expect(json.stdout.trim().split('\n').every((l) => l.startsWith('{'))).toBe(true);
    expect(json.stdout).not.toContain('waiting for the validator to be healthy');
    expect(json.result).toMatchObject({ outcome: 'updated' });
  }, 400_000);
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ansibleMissing, createFleet, FLEET_TEST_TIMEOUT_MS, type Fleet, type FleetHost } from '../helpers/fleet.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { holdMachineState } from './scheduler-harness.js';

const staged = stage();
const skip = staged.skip ?? ansibleMissing() ?? realRepoSkip();
if (skip) console.log(`ansible site.yml e2e tests skipped: ${skip}`);
const e2e = skip ? describe.skip : describe;

const OPENAI_KEY = 'sk-fleet-openai-key-0123456789';
const WEBHOOK = 'https://hooks.example.test/fleet-webhook-secret-path';

/**
 * What the role writes on a host, with modes and mtimes: its config folder, the installed
 * CLI, the clone's top level and HEAD, the PM2 processes (pid each). PM2's own logs and
 * Ansible's ~/.ansible/tmp change on any run and are left out.
 */
function tree(host: FleetHost): string[] {
  const out: string[] = [];
  const walk = (dir: string, deep: boolean) => {
    if (!fs.existsSync(dir)) return void out.push(`${dir} absent`);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const st = fs.lstatSync(p);
      out.push(`${p} ${st.mode.toString(8)} ${st.isFile() ? st.size : ''} ${st.mtimeMs}`);
      if (deep && e.isDirectory()) walk(p, deep);
    }
  };
  walk(path.join(host.user.home, '.config'), true);
  walk(path.join(host.user.home, '.local', 'bin'), false);
  walk(host.repoDir, false);
  const head = path.join(host.repoDir, '.git', 'HEAD');
  if (fs.existsSync(head)) out.push(`HEAD ${fs.readFileSync(head, 'utf8')}`);
  for (const p of host.pm2.list()) out.push(`pm2 ${p.name} ${p.pid}`);
  return out.sort();
}

/** Lines of the play's output that show a task as changed for a host. */
const changedTasks = (stdout: string, host: string) => {
  const out: string[] = [];
  let task = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('TASK [')) task = line;
    if (line.startsWith(`changed: [${host}]`)) out.push(task);
  }
  return out;
};

e2e('deploy/ansible site.yml: the real ansible-playbook against three local hosts', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    // The third host wants an LLM key: it comes from the inventory (as from a vault) and
    // must never be printed, nor be in any task's argv or environment.
    fleet = await createFleet(staged.ready as StagedRun, { vars: { alphacore_config: { HEALTH_STABLE: '2s', HEALTH_TIMEOUT: '40s', NOTIFY_WEBHOOK_URL: WEBHOOK } } });
    const inventory = JSON.parse(fs.readFileSync(fleet.inventory, 'utf8'));
    Object.assign(inventory.alphacore_validators.hosts.h3, { alphacore_disable_llm: false, alphacore_openai_api_key: OPENAI_KEY });
    fs.writeFileSync(fleet.inventory, JSON.stringify(inventory, null, 2));
  }, FLEET_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await fleet?.cleanup();
  }, 120_000);

  it('--check --diff on hosts that are not set up: runs to the end, exit 0, says what would change, writes nothing', async () => {
    const before = fleet.hosts.map(tree);
    const r = await fleet.playbook('site.yml', ['--check', '--diff']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const host of fleet.hosts) {
      expect(r.recap[host.name]).toMatchObject({ failed: 0 });
      const changed = changedTasks(r.stdout, host.name).join('\n');
      expect(changed).toContain('Would install alphacore-launcher');
      expect(changed).toContain('Clone the AlphaCore repository');
      expect(changed).toContain('Would run alphacore launch');
    }
    expect(fleet.hosts.map(tree)).toEqual(before);
    expect(fs.existsSync(path.join(fleet.root, 'package-cache'))).toBe(false);
  }, FLEET_TEST_TIMEOUT_MS);

  it('installs, clones and launches every host; secrets only in 0600 files; --check --diff then changes nothing; a second run reports changed=0', async () => {
    const first = await fleet.playbook('site.yml', ['-v']);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    for (const host of fleet.hosts) {
      expect(first.recap[host.name]).toMatchObject({ failed: 0 });
      expect(first.recap[host.name]!.changed).toBeGreaterThan(0);
      // Each host: its own clone at the branch tip, both services online in its own PM2.
      expect(fleet.head(host)).toBe(fleet.origin.head());
      const report = await fleet.status(host);
      expect(report.config.state).toBe('ok');
      const online = report.pm2.processes.filter((p) => p.status === 'online').map((p) => p.name).sort();
      expect(online).toEqual(['alphacore-validation-api', `validator-hot${host.name.slice(1)}-test`]);
      expect(report.pm2.home).toBe(host.pm2.home);
      // The secret came from the vault, into a private file the config points at.
      const creds = path.join(host.user.home, '.config', 'alphacore', 'gcp-creds.json');
      expect(JSON.parse(fs.readFileSync(creds, 'utf8'))).toMatchObject({ private_key: 'vault-secret-key' });
      expect(fs.statSync(creds).mode & 0o777).toBe(0o600);
      expect(fs.statSync(creds).uid).toBe(host.user.uid);
      expect(fleet.config(host)).toEqual(expect.arrayContaining([`GCP_CREDS_FILE=${creds}`, `VALIDATION_HTTP_PORT=${host.apiPort}`, 'HEALTH_STABLE=2s']));
    }
    const h3 = fleet.hosts[2]!;
    const keyFile = path.join(h3.user.home, '.config', 'alphacore', 'openai-api-key');
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(OPENAI_KEY);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    // launch had the key (it refuses LLM prompts without one): they are on for h3.
    expect(fleet.config(h3).join('\n')).not.toContain('--disable-llm');
    expect(fleet.config(fleet.hosts[0]!).join('\n')).toContain('--disable-llm');
    // At -v no task printed a secret (the key, the webhook URL, the vault's key).
    for (const secret of ['vault-secret-key', OPENAI_KEY, WEBHOOK]) expect(first.stdout + first.stderr).not.toContain(secret);

    // Check mode on hosts that are set up: to the end, exit 0, nothing to change, nothing touched.
    const before = fleet.hosts.map(tree);
    const check = await fleet.playbook('site.yml', ['--check', '--diff', '-vvv']);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    for (const host of fleet.hosts) expect(check.recap[host.name], changedTasks(check.stdout, host.name).join('\n')).toMatchObject({ changed: 0, failed: 0 });
    // launch ran as its own dry run there (its plan: every file unchanged).
    expect(check.stdout).toContain('alphacore launch --dry-run: nothing is written');
    for (const secret of ['vault-secret-key', OPENAI_KEY, WEBHOOK]) expect(check.stdout + check.stderr).not.toContain(secret);
    expect(fleet.hosts.map(tree)).toEqual(before);

    const second = await fleet.playbook('site.yml', ['-vvv']);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    for (const host of fleet.hosts) expect(second.recap[host.name], changedTasks(second.stdout, host.name).join('\n')).toMatchObject({ changed: 0, failed: 0 });
    // At -vvv too (module arguments and environments are printed then).
    for (const secret of ['vault-secret-key', OPENAI_KEY, WEBHOOK]) expect(second.stdout + second.stderr).not.toContain(secret);
  }, FLEET_TEST_TIMEOUT_MS);

  it('never ends green with a timer that cannot run: no systemd here, so a crontab line, and with no cron daemon the play fails with the fix', async (ctx) => {
    const host = fleet.hosts[0]!;
    // The test files that start a cron daemon hold this lock while it runs: taken, none of
    // theirs starts during the play (one that did made the play pass).
    const release = await holdMachineState('crontab');
    ctx.onTestFinished(() => release());
    const cronRuns = fs.readdirSync('/proc').some((pid) => /^\d+$/.test(pid) && /^(cron|crond|busybox crond)$/.test((() => { try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } })()));
    if (fs.existsSync('/run/systemd/system') || cronRuns) {
      console.log('scheduler case skipped: this machine runs systemd as init or a cron daemon (another test\'s), so the timer can run here');
      ctx.skip();
    }
    // A string from the command line, as an operator types it.
    const r = await fleet.playbook('site.yml', ['-l', host.name, '-e', 'alphacore_autoupdate=true']);
    expect(r.exitCode).not.toBe(0);
    expect(r.recap[host.name]).toMatchObject({ failed: 1 });
    expect(r.stdout).toContain(`${host.name}: the auto-update timer of ${host.user.name} (namespace alphacore) cannot run: cron`);
    expect(r.stdout).toContain('start a cron daemon and make it start at boot');
    // The validator itself was left running.
    expect((await fleet.status(host)).pm2.processes.filter((p) => p.status === 'online')).toHaveLength(2);
  }, FLEET_TEST_TIMEOUT_MS);
});

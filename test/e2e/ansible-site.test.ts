import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ansibleMissing, createFleet, FLEET_TEST_TIMEOUT_MS, type Fleet } from '../helpers/fleet.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
const skip = staged.skip ?? ansibleMissing() ?? realRepoSkip();
if (skip) console.log(`ansible site.yml e2e tests skipped: ${skip}`);
const e2e = skip ? describe.skip : describe;

e2e('deploy/ansible site.yml: the real ansible-playbook against three local hosts', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await createFleet(staged.ready as StagedRun);
  }, FLEET_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await fleet?.cleanup();
  }, 60_000);

  it('installs, clones and launches every host; a second run reports changed=0', async () => {
    const first = await fleet.playbook('site.yml');
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
    expect(first.stdout).not.toContain('vault-secret-key');

    const second = await fleet.playbook('site.yml');
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    for (const host of fleet.hosts) expect(second.recap[host.name]).toMatchObject({ changed: 0, failed: 0 });
  }, FLEET_TEST_TIMEOUT_MS);
});

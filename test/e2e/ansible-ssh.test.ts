import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ansibleMissing, createFleet, FLEET_TEST_TIMEOUT_MS, type Fleet } from '../helpers/fleet.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { makeSigner, signerLine } from '../helpers/signing.js';
import { sshdMissing } from '../helpers/sshd.js';
import { stage, type StagedRun } from '../helpers/user.js';

const staged = stage();
const skip = staged.skip ?? ansibleMissing() ?? realRepoSkip() ?? sshdMissing();
if (skip) console.log(`ansible over ssh e2e tests skipped: ${skip}`);
const e2e = skip ? describe.skip : describe;

/**
 * The topology an operator uses (DESIGN.md §13): Ansible connects through sshd as an
 * unprivileged admin with sudo and becomes each validator's user, on a host where that
 * admin has no setfacl (a Debian host without the acl package, as far as Ansible can
 * tell). h2 also asks for signed releases while origin's tip is unsigned.
 */
e2e('deploy/ansible over ssh: an unprivileged admin with sudo becomes the validator users, no setfacl', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await createFleet(staged.ready as StagedRun, { hosts: 2, ssh: { hideSetfacl: true } });
    const signer = makeSigner(path.join(fleet.root, 'signer'), 'release@alphacore.test');
    const inventory = JSON.parse(fs.readFileSync(fleet.inventory, 'utf8'));
    inventory.alphacore_validators.hosts.h2.alphacore_allowed_signers = signerLine(signer);
    fs.writeFileSync(fleet.inventory, JSON.stringify(inventory, null, 2));
  }, FLEET_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await fleet?.cleanup();
  }, 120_000);

  it('the admin gets in by key, is not root, has sudo, and has no setfacl on its PATH', async () => {
    const ssh = fleet.ssh!;
    expect(await ssh.run('id -u')).toMatchObject({ exitCode: 0, stdout: expect.not.stringMatching(/^0$/) });
    expect((await ssh.run('sudo -n true')).exitCode).toBe(0);
    expect((await ssh.run('command -v setfacl')).exitCode).not.toBe(0);
    expect((await ssh.run('command -v sudo')).exitCode).toBe(0);
  }, FLEET_TEST_TIMEOUT_MS);

  it('site.yml: launches h1 (changed=0 the second time); refuses to start anything of h2, whose clone is not signed by an allowed signer', async () => {
    const [h1, h2] = fleet.hosts;
    const r = await fleet.playbook('site.yml');
    expect(r.exitCode).not.toBe(0);
    expect(r.recap.h1, r.stdout).toMatchObject({ failed: 0 });
    expect(r.recap.h2).toMatchObject({ failed: 1 });
    // What Ansible says on a host without acl, had the role needed it.
    expect(r.stdout).not.toContain('Failed to set permissions on the temporary files');
    // The role looks for the acl package (for plays without pipelining), as root through sudo.
    const aclTask = r.stdout.split('TASK [').find((t) => t.startsWith('alphacore_validator : Is the acl package installed'));
    expect(aclTask).toMatch(/^ok: \[h1\]/m);
    expect(fleet.head(h1!)).toBe(fleet.origin.head());
    const report = await fleet.status(h1!);
    expect(report.pm2.processes.filter((p) => p.status === 'online').map((p) => p.name).sort()).toEqual(['alphacore-validation-api', 'validator-hot1-test']);
    const creds = path.join(h1!.user.home, '.config', 'alphacore', 'gcp-creds.json');
    expect(fs.statSync(creds)).toMatchObject({ uid: h1!.user.uid });
    expect(fs.statSync(creds).mode & 0o777).toBe(0o600);

    // h2: the first deploy is verified; nothing of its clone ran, not even the API.
    expect(r.stdout).toMatch(/h2: the clone's HEAD \(\S+, branch release\) does not verify against alphacore_allowed_signers: .*Nothing was started\./);
    expect(fs.readFileSync(path.join(h2!.user.home, '.config', 'alphacore', 'allowed_signers'), 'utf8')).toContain('release@alphacore.test');
    expect(h2!.pm2.list()).toEqual([]);
    expect(fs.existsSync(h2!.configFile)).toBe(false);

    const again = await fleet.playbook('site.yml', ['-l', 'h1']);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.recap.h1).toMatchObject({ changed: 0, failed: 0 });
  }, FLEET_TEST_TIMEOUT_MS);

  it('rollout.yml over ssh: the canary (the only host here) goes to the new commit and is watched for its window', async () => {
    const [h1] = fleet.hosts;
    const sha = fleet.origin.advance();
    const r = await fleet.playbook('rollout.yml', ['-l', 'h1', '-e', `sha=${sha}`, '-e', 'canary_minutes=2']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(fleet.head(h1!)).toBe(sha);
    expect(fleet.config(h1!).filter((l) => l.startsWith('PIN='))).toEqual([]);
    expect((await fleet.status(h1!)).pm2.processes.filter((p) => p.status === 'online')).toHaveLength(2);
  }, FLEET_TEST_TIMEOUT_MS);
});

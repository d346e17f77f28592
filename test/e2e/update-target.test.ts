import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { git } from '../helpers/repo.js';
import { updateSetup } from '../helpers/update-setup.js';

// update --to and PIN (DESIGN.md §5 step 5, §13) through the built CLI, real git.
describe('update: --to and PIN choose the target', () => {
  it('--to an older commit of the branch: that commit is the target, whatever the tip', async () => {
    const s = await updateSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const second = s.origin.push({ 'src/app.py': 'print("v2")\n' });
    const third = s.origin.push({ 'src/app.py': 'print("v3")\n' });
    const r = await s.run(['--json', '--dry-run', '--to', second.slice(0, 10)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'would-update', from: head, to: second });
    expect(r.stdout).toContain(`(--to), not origin/release at ${third.slice(0, 7)}`);
  });

  it('--to a commit that is not on the branch: exit 2, named, nothing touched', async () => {
    const s = await updateSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    // A commit that exists in the clone but on no branch of the remote.
    git(s.deploy, 'commit', '--quiet', '--allow-empty', '-m', 'local only');
    const stray = git(s.deploy, 'rev-parse', 'HEAD');
    git(s.deploy, 'reset', '--quiet', '--hard', head);
    let r = await s.run(['--json', '--to', stray]);
    expect(r.exitCode).toBe(2);
    expect(r.result).toMatchObject({ outcome: 'invalid-config', reason: 'target-not-on-branch', from: head });
    expect(r.stdout).toContain(`--to ${stray}: commit ${stray.slice(0, 12)} is not on origin/release`);
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(head);
    expect(s.api!.requests).toHaveLength(0);

    r = await s.run(['--to', 'deadbeefdeadbeef']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('no commit deadbeefdeadbeef exists in the clone after fetching origin/release');

    r = await s.run(['--to', 'release']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--to release is not a commit sha');
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('a pinned host stays on its pin while the branch moves; --to overrides the pin', async () => {
    const s = await updateSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    fs.appendFileSync(s.configFile, `PIN=${head}\n`);
    const tip = s.origin.push({ 'src/app.py': 'print("v2")\n' });
    let r = await s.run(['--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ outcome: 'up-to-date', from: head, to: head });
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(head);

    r = await s.run(['--json', '--dry-run', '--to', tip]);
    expect(r.result).toMatchObject({ outcome: 'would-update', from: head, to: tip });
  });

  it('a pin the branch no longer holds (force-pushed away): exit 2 every run, recorded for status', async () => {
    const s = await updateSetup();
    const head = git(s.deploy, 'rev-parse', 'HEAD');
    const gone = s.origin.push({ 'src/app.py': 'print("v2")\n' });
    git(s.deploy, 'pull', '--quiet', '--ff-only');
    s.origin.forcePush(head);
    fs.appendFileSync(s.configFile, `PIN=${gone}\n`);
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(2);
    expect(r.result).toMatchObject({ outcome: 'invalid-config', reason: 'target-not-on-branch' });
    expect(r.stdout).toContain(`PIN=${gone} in ${s.configFile}: commit ${gone.slice(0, 12)} is not on origin/release`);
    expect(git(s.deploy, 'rev-parse', 'HEAD')).toBe(gone);
    const state = JSON.parse(fs.readFileSync(s.stateFile, 'utf8')) as { lastRun: { outcome: string; reason: string } };
    expect(state.lastRun).toMatchObject({ outcome: 'invalid-config', reason: 'target-not-on-branch' });
  });

  it('an invalid PIN is a config error (exit 2) naming the key and the fix', async () => {
    const s = await updateSetup({ config: ['PIN=release'] });
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('PIN=release is not a commit sha');
  });
});

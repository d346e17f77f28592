import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realRepoSkip } from '../helpers/real-repo.js';
import { stage, type StagedRun } from '../helpers/user.js';
import { contractWorld } from './contract-world.js';

// Operator retrial N2: a release that was rolled back and later deployed with
// `update --force` stayed on status's Quarantine line (and in the
// alphacore_quarantined_commits gauge) for good. A forced retry that comes up healthy
// takes it out of the quarantine.
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
const run = staged.ready as StagedRun;

describe.skipIf(skip)('contract: the quarantine on the real repository', { timeout: 300_000 }, () => {
  it('a quarantined release retried with --force that comes up healthy is quarantined no more', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const stateFile = path.join(w.env.XDG_STATE_HOME!, 'alphacore', 'autoupdate', 'alphacore.state.json');
    const state = () => JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { quarantine: { sha: string; at: string; reason: string }[] };
    expect((await w.update()).result).toMatchObject({ outcome: 'up-to-date' });
    // A release an earlier run rolled back (its cause since fixed on the machine): the
    // quarantine entry a rollback writes, in the file it is kept in (written in place, so
    // it stays the user's).
    const release = w.origin.push({ 'NOTES.md': 'a release\n' }, 'a release');
    fs.writeFileSync(stateFile, JSON.stringify({ ...state(), quarantine: [{ sha: release, at: new Date().toISOString(), reason: 'health failed' }] }));
    expect((await w.update()).result).toMatchObject({ outcome: 'skipped', reason: 'quarantined', to: release });
    const forced = await w.update(['--force']);
    expect(forced.result, forced.stdout + forced.stderr).toMatchObject({ outcome: 'updated', to: release });
    expect(forced.stdout).toContain('taken out of the quarantine');
    expect(state().quarantine).toEqual([]);
  });
});

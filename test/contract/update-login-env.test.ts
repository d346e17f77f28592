import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toCliResult } from '../helpers/cli.js';
import { realRepoSkip } from '../helpers/real-repo.js';
import { runAs, stage, type StagedRun } from '../helpers/user.js';
import { contractWorld } from './contract-world.js';

// Under cron (and a bare `env -i`) there is no USER. The real setup_validation_api_pm2.sh
// runs with `set -u` and prints $USER on its last line: the API's launcher exited 1 after
// the API was up, the update called it "api failed" and rolled back a good release.
const staged = stage();
const skip = staged.skip ?? realRepoSkip();
if (skip) console.log(`login-environment contract test skipped: ${skip}`);
const run = staged.ready as StagedRun;

describe.skipIf(skip)('contract: update under a bare environment (cron, env -i)', { timeout: 300_000 }, () => {
  it('env -i HOME LOGNAME SHELL PATH alphacore update: the repo scripts get USER from the account, the release is updated', async () => {
    const w = await contractWorld(run);
    await w.launched();
    const from = w.head();
    const to = w.origin.advance();
    // What cron gives a job: HOME, LOGNAME, SHELL, PATH (and here the world's own PM2 home,
    // which on a real machine is the default ~/.pm2).
    const bare = ['-i', `HOME=${w.env.HOME}`, `LOGNAME=${run.user.name}`, 'SHELL=/bin/sh', `PATH=${w.env.PATH}`, `PM2_HOME=${w.env.PM2_HOME}`];
    const r = toCliResult(
      await runAs(run.user, 'env', [...bare, process.execPath, run.cli, 'update', '--config', w.configFile, '--json'], { env: {}, cwd: w.env.HOME, timeoutMs: 240_000 }),
    );
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'updated', from, to });
    expect(w.head()).toBe(to);
    expect(w.services()).toEqual([['alphacore-validation-api', 'online'], ['validator-hot-test', 'online']]);
    // The API launcher's last line used $USER: it ran to its end with the account's name.
    const log = fs.readFileSync(path.join(w.stateDir, 'alphacore.log'), 'utf8');
    expect(log).toContain(`pm2 startup systemd -u ${run.user.name} --hp ${w.env.HOME}`);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { makePaths } from '../../src/core/context.js';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { planLaunch } from '../../src/domain/launch/plan.js';
import { resolveLaunchOptions } from '../../src/domain/launch/validate.js';
import { launchUnitWorld } from '../helpers/launch-unit-world.js';

function world() {
  return launchUnitWorld('alphacore-launch-metrics-');
}

describe('launch --metrics-dir (METRICS_DIR)', () => {
  it('writes METRICS_DIR (absolute) into the auto-update config, which update reads back', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.root, 'textfile'));
    const o = resolveLaunchOptions(await parseLaunchArgv([...w.flags, '--metrics-dir', 'textfile']), w.facts);
    const configPath = path.join(w.root, 'cfg', 'alphacore.env');
    const plan = planLaunch(o, { version: '1', autoupdateConfigPath: configPath, keptConfigEntries: [['METRICS_DIR', '/old/dir'], ['NOTIFY_WEBHOOK_URL', 'https://hooks.example/x']] });
    const text = plan.autoupdateConfig!.content;
    expect(text).toContain(`METRICS_DIR=${path.join(w.root, 'textfile')}\n`);
    expect(text).not.toContain('/old/dir');
    fs.mkdirSync(path.dirname(configPath));
    fs.writeFileSync(configPath, text);
    expect(loadConfig(configPath, {}, {}, makePaths({ HOME: w.facts.home })).metricsDir).toBe(path.join(w.root, 'textfile'));
  });

  it('without the flag, an operator-set METRICS_DIR is kept', async () => {
    const w = world();
    const o = resolveLaunchOptions(await parseLaunchArgv(w.flags), w.facts);
    const plan = planLaunch(o, { version: '1', autoupdateConfigPath: '/cfg/alphacore.env', keptConfigEntries: [['METRICS_DIR', '/srv/textfile']] });
    expect(plan.autoupdateConfig!.content).toMatch(/^METRICS_DIR=["']?\/srv\/textfile["']?$/m);
  });

  it('a directory that does not exist is refused, naming the flag and the fix', async () => {
    const w = world();
    const args = await parseLaunchArgv([...w.flags, '--metrics-dir', '/nope/textfile']);
    expect(() => resolveLaunchOptions(args, w.facts)).toThrow(
      /--metrics-dir \/nope\/textfile does not exist; create it/,
    );
  });

  it('update refuses a relative METRICS_DIR (exit 2 material)', () => {
    const w = world();
    const configPath = path.join(w.root, 'alphacore.env');
    fs.writeFileSync(configPath, `NETWORK=test\nWALLET_NAME=c\nWALLET_HOTKEY=h\nNETUID=1\nGOOGLE=x\nREPO_DIR=${w.repo}\nMETRICS_DIR=textfile\n`);
    expect(() => loadConfig(configPath, { GOOGLE_OAUTH_ACCESS_TOKEN: 'tok' }, {}, makePaths({ HOME: w.facts.home }))).toThrow(/METRICS_DIR=textfile must be an absolute path/);
  });
});

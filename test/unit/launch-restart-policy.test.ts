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
  return launchUnitWorld('alphacore-launch-restart-');
}

describe('launch --restart-policy (RESTART_POLICY)', () => {
  it('writes RESTART_POLICY into the auto-update config, which update reads back', async () => {
    const w = world();
    const o = resolveLaunchOptions(await parseLaunchArgv([...w.flags, '--restart-policy', 'coalesce']), w.facts);
    const configPath = path.join(w.root, 'cfg', 'alphacore.env');
    const plan = planLaunch(o, { version: '1', autoupdateConfigPath: configPath, keptConfigEntries: [['RESTART_POLICY', 'prompt'], ['RESTART_MIN_INTERVAL', '12h']] });
    const text = plan.autoupdateConfig!.content;
    expect(text).toMatch(/^RESTART_POLICY=coalesce$/m);
    expect(text).not.toMatch(/^RESTART_POLICY=prompt$/m);
    fs.mkdirSync(path.dirname(configPath));
    fs.writeFileSync(configPath, text);
    const env = { GOOGLE_OAUTH_ACCESS_TOKEN: 'tok' };
    expect(loadConfig(configPath, env, {}, makePaths({ HOME: w.facts.home })).restart).toEqual({ policy: 'coalesce', minIntervalMs: 12 * 3_600_000, maxDelayMs: 24 * 3_600_000 });
  });

  it('without the flag, the operator\'s RESTART_POLICY is kept; none written when there is none (prompt)', async () => {
    const w = world();
    const o = resolveLaunchOptions(await parseLaunchArgv(w.flags), w.facts);
    expect(planLaunch(o, { version: '1', autoupdateConfigPath: '/cfg/a.env', keptConfigEntries: [['RESTART_POLICY', 'coalesce']] }).autoupdateConfig!.content).toMatch(/^RESTART_POLICY=["']?coalesce["']?$/m);
    expect(planLaunch(o, { version: '1', autoupdateConfigPath: '/cfg/a.env', keptConfigEntries: [] }).autoupdateConfig!.content).not.toContain('RESTART_POLICY');
  });

  it('a value other than prompt or coalesce is refused, naming the flag', async () => {
    const w = world();
    const args = await parseLaunchArgv([...w.flags, '--restart-policy', 'weekly']);
    expect(() => resolveLaunchOptions(args, w.facts)).toThrow(/--restart-policy weekly must be prompt .* or coalesce/);
  });
});

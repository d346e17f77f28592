import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { makePaths } from '../../src/core/context.js';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { planLaunch } from '../../src/domain/launch/plan.js';
import { resolveLaunchOptions, type LaunchFacts } from '../../src/domain/launch/validate.js';
import { tempDir } from '../helpers/tmp.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

function world() {
  const root = tempDir('alphacore-launch-restart-');
  const repo = path.join(root, 'AlphaCore');
  fs.mkdirSync(path.join(repo, 'scripts', 'validator', 'process'), { recursive: true });
  fs.mkdirSync(path.join(repo, '.git'));
  fs.writeFileSync(path.join(repo, 'scripts', 'validator', 'process', 'start_validator_pm2.sh'), '#!/bin/bash\n');
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'val@proj.iam.gserviceaccount.com' }));
  // launch refuses a wallet or hotkey it cannot find
  createWallet(homeWallets(path.join(root, 'home')), 'cold', ['hot']);
  const facts: LaunchFacts = { env: {}, home: path.join(root, 'home'), cwd: root, stateDir: path.join(root, 'home', '.local', 'state', 'alphacore', 'autoupdate'), repoDir: repo, exists: (f) => fs.existsSync(f), readText: (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined) };
  const flags = ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '66', '--network', 'test', '--gcp-creds-file', creds, '--disable-llm'];
  return { root, repo, facts, flags };
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

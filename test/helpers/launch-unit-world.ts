import fs from 'node:fs';
import path from 'node:path';
import type { LaunchFacts } from '../../src/domain/launch/validate.js';
import { tempDir } from './tmp.js';
import { createWallet, homeWallets } from './wallet.js';

/**
 * The smallest folder launch's pure stages accept: a clone with the validator's start
 * script, a creds file, a home with wallet `cold` and hotkey `hot`. For unit tests of
 * validate and plan; nothing runs.
 */
export function launchUnitWorld(prefix: string) {
  const root = tempDir(prefix);
  const repo = path.join(root, 'AlphaCore');
  fs.mkdirSync(path.join(repo, 'scripts', 'validator', 'process'), { recursive: true });
  fs.mkdirSync(path.join(repo, '.git'));
  fs.writeFileSync(path.join(repo, 'scripts', 'validator', 'process', 'start_validator_pm2.sh'), '#!/bin/bash\n');
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'val@proj.iam.gserviceaccount.com' }));
  const home = path.join(root, 'home');
  createWallet(homeWallets(home), 'cold', ['hot']);
  const factsFor = (env: Record<string, string> = {}): LaunchFacts => ({
    env,
    home,
    cwd: root,
    stateDir: path.join(home, '.local', 'state', 'alphacore', 'autoupdate'),
    repoDir: repo,
    exists: (f) => fs.existsSync(f),
    readText: (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined),
  });
  const flags = ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '66', '--network', 'test', '--gcp-creds-file', creds, '--disable-llm'];
  return { root, repo, creds, home, factsFor, facts: factsFor(), flags };
}

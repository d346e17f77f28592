import fs from 'node:fs';
import path from 'node:path';
import type { LaunchFacts } from '../../src/domain/launch/validate.js';
import { tempDir } from './tmp.js';
import { createWallet, homeWallets } from './wallet.js';

/**
 * For unit tests of launch's option validation: a fake deploy clone (just the wrapper
 * path validation looks for), a creds file, the wallets `cold`/`hot` and `c`/`h` in HOME, and the facts validation reads, with
 * `facts` overriding any of them (OPENAI_API_KEY is set unless `facts.env` says otherwise).
 */
export function launchWorld(facts: Partial<LaunchFacts> = {}, prefix = 'alphacore-launch-opts-') {
  const root = tempDir(prefix);
  const repo = path.join(root, 'AlphaCore');
  fs.mkdirSync(path.join(repo, 'scripts', 'validator', 'process'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'scripts', 'validator', 'process', 'start_validator_pm2.sh'), '#!/bin/bash\n');
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'val@proj.iam.gserviceaccount.com' }));
  // The wallets the tests name, where launch looks by default (it refuses a wallet it cannot find).
  for (const [wallet, hotkey] of [['cold', 'hot'], ['c', 'h']] as const) createWallet(homeWallets(path.join(root, 'home')), wallet, [hotkey]);
  const all: LaunchFacts = {
    env: { OPENAI_API_KEY: 'sk-env-key' },
    home: path.join(root, 'home'),
    cwd: root,
    repoDir: repo,
    exists: (f) => fs.existsSync(f),
    readText: (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined),
    listDir: (d) => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []),
    ...facts,
  };
  return { root, repo, creds, facts: all };
}

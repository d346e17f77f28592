import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { renderAutoupdateConfig } from '../../src/domain/launch/plan.js';
import { resolveLaunchOptions, type LaunchFacts } from '../../src/domain/launch/validate.js';
import { parseEnvFile } from '../../src/core/envfile.js';
import { UserError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAINFK4h44rDOM4l6hFJsBkMcZo8pCNyK/BDwce15+DEzj';

function world() {
  const root = tempDir('alphacore-launch-sign-');
  const repo = path.join(root, 'AlphaCore');
  fs.mkdirSync(path.join(repo, 'scripts', 'validator', 'process'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'scripts', 'validator', 'process', 'start_validator_pm2.sh'), '#!/bin/bash\n');
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'val@proj.iam.gserviceaccount.com' }));
  fs.writeFileSync(path.join(root, 'allowed_signers'), `owner@subnet namespaces="git" ssh-ed25519 ${KEY}\n`);
  fs.writeFileSync(path.join(root, 'broken_signers'), 'owner@subnet ssh-ed25519\n');
  createWallet(homeWallets(path.join(root, 'home')), 'cold', ['hot']);
  const facts: LaunchFacts = {
    env: {},
    home: path.join(root, 'home'),
    cwd: root,
    stateDir: path.join(root, 'home', '.local', 'state', 'alphacore', 'autoupdate'),
    repoDir: repo,
    exists: (f) => fs.existsSync(f),
    readText: (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined),
  };
  const resolve = async (flags: string[]) =>
    resolveLaunchOptions(await parseLaunchArgv(['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '66', '--network', 'finney', '--disable-llm', '--gcp-creds-file', creds, ...flags]), facts);
  return { root, resolve };
}

async function problemsOf(run: Promise<unknown>): Promise<string[]> {
  try {
    await run;
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).problems;
  }
  throw new Error('expected a UserError');
}

describe('launch --allowed-signers / --signature-policy', () => {
  it('a relative path is made absolute; the policy is kept only when given', async () => {
    const w = world();
    expect(await w.resolve(['--allowed-signers', 'allowed_signers'])).toMatchObject({ allowedSigners: path.join(w.root, 'allowed_signers') });
    expect((await w.resolve(['--allowed-signers', 'allowed_signers'])).signaturePolicy).toBeUndefined();
    expect(await w.resolve(['--allowed-signers', 'allowed_signers', '--signature-policy', 'all'])).toMatchObject({ signaturePolicy: 'all' });
  });

  it('a missing file, a broken line, a bad policy, a policy without a file: all named at once', async () => {
    const w = world();
    expect(await problemsOf(w.resolve(['--allowed-signers', 'nope', '--signature-policy', 'most']))).toEqual([
      '--signature-policy most must be tip (check the release deployed) or all (every commit from HEAD to it).',
      '--allowed-signers nope does not exist or cannot be read; write the subnet owner\'s key into it first (README, "Signed releases").',
    ]);
    expect((await problemsOf(w.resolve(['--allowed-signers', 'broken_signers'])))[0]).toMatch(/^--allowed-signers \S+broken_signers:1: expected "principals/);
    expect(await problemsOf(w.resolve(['--signature-policy', 'all']))).toEqual(['--signature-policy needs --allowed-signers FILE: without it no signature is checked.']);
  });

  it('the config gets ALLOWED_SIGNERS and SIGNATURE_POLICY; the same keys kept from an old config are replaced, not doubled; without the flag they are kept', async () => {
    const w = world();
    const file = path.join(w.root, 'allowed_signers');
    const kept: [string, string][] = [['ALLOWED_SIGNERS', '/old/file'], ['SIGNATURE_POLICY', 'all'], ['NOTIFY_WEBHOOK_URL', 'https://hooks.example/x']];
    const keysOf = (text: string) => parseEnvFile(text, { source: 'c', home: '/' }).map((e) => [e.key, e.value]);
    const withFlag = keysOf(renderAutoupdateConfig(await w.resolve(['--allowed-signers', file]), kept));
    expect(withFlag.filter(([k]) => k === 'ALLOWED_SIGNERS')).toEqual([['ALLOWED_SIGNERS', file]]);
    // --signature-policy not given: the operator's own SIGNATURE_POLICY=all stays (never weakened silently).
    expect(withFlag.filter(([k]) => k === 'SIGNATURE_POLICY')).toEqual([['SIGNATURE_POLICY', 'all']]);
    const withPolicy = keysOf(renderAutoupdateConfig(await w.resolve(['--allowed-signers', file, '--signature-policy', 'tip']), kept));
    expect(withPolicy.filter(([k]) => k === 'SIGNATURE_POLICY')).toEqual([['SIGNATURE_POLICY', 'tip']]);
    const without = keysOf(renderAutoupdateConfig(await w.resolve([]), kept));
    expect(without.filter(([k]) => k.endsWith('SIGNERS') || k === 'SIGNATURE_POLICY')).toEqual([['ALLOWED_SIGNERS', '/old/file'], ['SIGNATURE_POLICY', 'all']]);
  });
});

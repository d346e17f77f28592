import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/commands/update/decide.js';
import { historyPolicyOf, judgeHistory } from '../../src/commands/update/history.js';
import type { Facts } from '../../src/commands/update/observe.js';
import { readConfig, type AutoupdateConfig } from '../../src/core/config.js';
import { makePaths } from '../../src/core/context.js';
import { UserError } from '../../src/core/errors.js';
import type { SignatureSettings } from '../../src/core/signature-config.js';
import { tempDir } from '../helpers/tmp.js';
import { decideConfig } from '../helpers/decide-config.js';

const signatures: SignatureSettings = { allowedSigners: '/k/allowed_signers', policy: 'tip', entries: [] };
const base = decideConfig({ validatorProcessName: 'validator', validationProcessName: undefined });
const signed = { ...base, signatures } as AutoupdateConfig;

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const NOW = Date.parse('2026-01-01T00:00:00Z');
const flags = { force: false };
const facts: Facts = {
  journal: { kind: 'none' },
  dirty: [],
  indexLock: { present: false, path: '/srv/AlphaCore/.git/index.lock', holders: [] },
  head: A,
  target: B,
  branch: 'release',
  localCommits: [],
  targetSource: 'branch',
  changed: [],
  gates: { roundLock: { kind: 'absent' }, api: { kind: 'idle' } },
  venvs: { sides: {}, fallback: { dir: '/srv/AlphaCore/venv' } },
  processes: { names: ['validator'] },
};

describe('history policy (DESIGN.md §5 step 5)', () => {
  it('defaults to forward with ALLOWED_SIGNERS and any without; HISTORY_POLICY overrides both ways', () => {
    expect(historyPolicyOf(base)).toBe('any');
    expect(historyPolicyOf(signed)).toBe('forward');
    expect(historyPolicyOf({ ...base, historyPolicy: 'forward' })).toBe('forward');
    expect(historyPolicyOf({ ...signed, historyPolicy: 'any' })).toBe('any');
  });

  it('decide asks git whether the target descends from HEAD only under forward, and only when they differ', () => {
    expect(decide(facts, base, flags, NOW)).toMatchObject({ kind: 'swap', from: A, to: B });
    expect(decide(facts, signed, flags, NOW)).toEqual({ kind: 'observe', need: 'history' });
    expect(decide({ ...facts, target: A }, signed, flags, NOW)).toMatchObject({ kind: 'done', decision: { outcome: 'up-to-date' } });
    expect(decide({ ...facts, forward: true }, signed, flags, NOW)).toMatchObject({ kind: 'swap', from: A, to: B });
  });

  it('a target that does not descend from HEAD is refused (not-forward), naming both commits and the command that accepts it', () => {
    const plan = decide({ ...facts, forward: false }, signed, flags, NOW);
    expect(plan).toMatchObject({ kind: 'done', decision: { outcome: 'refused', reason: 'not-forward' }, from: A, to: B });
    if (plan.kind === 'done') expect(plan.decision.notify).toBeUndefined(); // told once per commit by record (a dry run never gets there)
    if (plan.kind !== 'done') throw new Error('unreachable');
    const text = plan.notes.map((n) => n.text).join('\n');
    expect(text).toContain(`refusing origin/release at bbbbbbb: it does not descend from the deployed aaaaaaa`);
    expect(text).toContain(`alphacore update --config /c.env --to ${B}`);
    expect(text).toContain('Nothing was stopped.');
    expect(plan.decision.detail).toBe(`origin/release at ${B} does not descend from the deployed HEAD ${A}`);
    // Before the gates and the quarantine: a refused target never waits for a round to end.
    const busy = { ...facts, forward: false, gates: { roundLock: { kind: 'live' as const, detail: 'round 3' } }, quarantine: [B] };
    expect(decide(busy, signed, flags, NOW)).toMatchObject({ decision: { outcome: 'refused', reason: 'not-forward' } });
    // --force does not skip it.
    expect(decide({ ...facts, forward: false }, signed, { ...flags, force: true }, NOW)).toMatchObject({ decision: { reason: 'not-forward' } });
  });

  it('--to and PIN are the operator choosing the commit: accepted, with a warning', () => {
    for (const source of ['to', 'pin'] as const) {
      const plan = decide({ ...facts, forward: false, targetSource: source }, signed, flags, NOW);
      expect(plan).toMatchObject({ kind: 'swap', to: B });
      expect(plan.kind === 'swap' && plan.notes.some((n) => n.level === 'warn' && /does not descend from the deployed aaaaaaa; deploying it anyway/.test(n.text))).toBe(true);
    }
  });

  it('HISTORY_POLICY=any with signatures lets the branch move anywhere (the bash updater\'s rule)', () => {
    expect(decide({ ...facts, forward: false }, { ...signed, historyPolicy: 'any' }, flags, NOW)).toMatchObject({ kind: 'swap' });
    expect(judgeHistory({ head: A, target: B, source: 'branch', forward: undefined }, { ...signed, historyPolicy: 'any' })).toEqual({ kind: 'pass' });
  });
});

describe('HISTORY_POLICY in the config reader', () => {
  function configFile(lines: string[]) {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'repo', '.git'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'creds.json'), '{}');
    const file = path.join(dir, 'alphacore.env');
    const valid = ['NETWORK=finney', 'WALLET_NAME=wallet', 'WALLET_HOTKEY=hot', 'NETUID=66', `GCP_CREDS_FILE=${dir}/creds.json`, `REPO_DIR=${dir}/repo`];
    fs.writeFileSync(file, `${[...valid, ...lines].join('\n')}\n`);
    const env = { HOME: path.join(dir, 'home') };
    return { file, input: { file, env, paths: makePaths(env) } };
  }

  it('forward and any are read; unset stays undefined (the default follows ALLOWED_SIGNERS)', () => {
    expect(readConfig(configFile(['HISTORY_POLICY=forward']).input, 'strict').historyPolicy).toBe('forward');
    expect(readConfig(configFile(['HISTORY_POLICY=any']).input, 'strict').historyPolicy).toBe('any');
    expect(readConfig(configFile([]).input, 'strict').historyPolicy).toBeUndefined();
  });

  it('a bad value is a problem named by file, line and key: strict throws it, salvage keeps the default', () => {
    const { file, input } = configFile(['HISTORY_POLICY=backwards']);
    expect(() => readConfig(input, 'strict')).toThrow(UserError);
    const reading = readConfig(input, 'salvage');
    expect(reading.problems).toEqual([`${file}:7: HISTORY_POLICY=backwards must be forward (deploy only commits that descend from the deployed one) or any (any move of the branch is an update).`]);
    expect([...reading.invalid]).toEqual(['HISTORY_POLICY']);
    expect(reading.config.historyPolicy).toBeUndefined();
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { resolveLaunchOptions, type LaunchFacts, type LaunchOptions } from '../../src/domain/launch/validate.js';
import { launchWorld } from '../helpers/launch-world.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

/** The launch world with extra environment variables (OPENAI_API_KEY always set). */
const world = (env: Record<string, string> = {}) => launchWorld({ env: { OPENAI_API_KEY: 'sk-env-key', ...env } });

const BASE = ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '66', '--network', 'finney'];

async function resolve(argv: string[], env: Record<string, string> = {}, purpose: 'launch' | 'relaunch' = 'launch'): Promise<LaunchOptions> {
  const w = world(env);
  // The wallet the flags name, where launch looks (BT_WALLET_PATH is relative to the world's root here).
  const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const [wallet, hotkey] = [flag('--wallet-name'), flag('--hotkey')];
  if (wallet && hotkey && ![wallet, hotkey].some((n) => /^[-.]|[/\x00-\x1f]/.test(n))) {
    createWallet(env.BT_WALLET_PATH ? path.resolve(w.root, env.BT_WALLET_PATH) : homeWallets(w.facts.home), wallet, [hotkey]);
  }
  const withCreds = argv.some((a) => a.startsWith('--gcp-creds-file')) || argv.includes('--no-autoupdate') ? argv : [...argv, '--gcp-creds-file', w.creds];
  return resolveLaunchOptions(await parseLaunchArgv(withCreds), w.facts, purpose);
}

async function problems(argv: string[], env: Record<string, string> = {}): Promise<string[]> {
  try {
    await resolve(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).problems;
  }
  throw new Error('expected a UserError');
}

describe('launch defaults (DESIGN.md §4)', () => {
  it('resolves every default from the network', async () => {
    const o = await resolve(BASE);
    expect(o).toMatchObject({
      chainEndpoint: 'wss://finney.opentensor.io:443',
      profile: 'testing',
      validatorSa: 'val@proj.iam.gserviceaccount.com',
      validatorSaSource: 'creds',
      validationApiEndpoint: 'http://127.0.0.1:8888',
      processName: 'validator-hot-finney',
      namespace: 'alphacore',
      httpPort: '8000',
      tickSeconds: '1200',
      epochSlots: '4',
      autoupdate: true,
      autoupdateInterval: '2m',
      promptPostprocess: 'none',
      openaiApiKey: 'sk-env-key',
      openaiApiKeyFlag: undefined,
      // Private (DESIGN.md §3), not /tmp: launch hands the same path to the validator.
      roundLockfile: expect.stringMatching(/^\/.*\/home\/\.local\/state\/alphacore\/autoupdate\/alphacore\.round\.lock$/),
    });
    expect(o.envFile).toBe(path.join(o.repoDir, 'env', 'finney', 'validator-cold-hot.env'));
    expect(o.venvDir).toBe(path.join(o.repoDir, 'venv'));
  });

  it('local network: local endpoint, local profile, one epoch slot', async () => {
    const o = await resolve(['--wallet-name', 'c', '--hotkey', 'h', '--netuid', '1', '--network', 'local']);
    expect([o.chainEndpoint, o.profile, o.epochSlots]).toEqual(['ws://127.0.0.1:9944', 'local', '1']);
  });

  it('test network endpoint', async () => {
    expect((await resolve([...BASE.slice(0, 6), '--network', 'test'])).chainEndpoint).toBe('wss://testnet-finney.opentensor.io:443');
  });

  it('environment fallbacks: PM2_NAMESPACE, BT_WALLET_PATH, ALPHACORE_VALIDATOR_SA, ALPHACORE_AUTOUPDATE_INTERVAL, ALPHACORE_OPENAI_API_KEY before OPENAI_API_KEY', async () => {
    const o = await resolve(BASE, {
      PM2_NAMESPACE: 'ns2',
      BT_WALLET_PATH: 'srv/wallets',
      ALPHACORE_VALIDATOR_SA: 'env@proj.iam.gserviceaccount.com',
      ALPHACORE_AUTOUPDATE_INTERVAL: '5m',
      ALPHACORE_OPENAI_API_KEY: 'sk-alpha',
      ALPHACORE_PROMPT_POSTPROCESS: 'full',
    });
    expect(o).toMatchObject({ namespace: 'ns2', walletPath: expect.stringMatching(/\/srv\/wallets$/), validatorSa: 'env@proj.iam.gserviceaccount.com', validatorSaSource: 'env', autoupdateInterval: '5m', openaiApiKey: 'sk-alpha', promptPostprocess: 'full' });
  });

  it('flags beat the environment', async () => {
    const o = await resolve([...BASE, '--pm2-namespace', 'flagns', '--validator-sa', 'flag@p.iam.gserviceaccount.com', '--openai-api-key', 'sk-flag', '--autoupdate-interval', '10m'], {
      PM2_NAMESPACE: 'envns',
      ALPHACORE_VALIDATOR_SA: 'env@p.iam.gserviceaccount.com',
      ALPHACORE_AUTOUPDATE_INTERVAL: '5m',
    });
    expect(o).toMatchObject({ namespace: 'flagns', validatorSa: 'flag@p.iam.gserviceaccount.com', validatorSaSource: 'flag', openaiApiKey: 'sk-flag', openaiApiKeyFlag: 'sk-flag', autoupdateInterval: '10m' });
  });

  it('the --validator.* aliases set the same options', async () => {
    const o = await resolve([...BASE, '--validator.epoch_slots', '3', '--validator.epoch_slot_index', '2', '--validator.weights_min_tasks_before_emit', '7']);
    expect([o.epochSlots, o.epochSlotIndex, o.weightsMinTasksBeforeEmit, o.epochSlotsGiven]).toEqual(['3', '2', '7', true]);
  });

  it('an env placeholder service account falls through to the creds file', async () => {
    const o = await resolve(BASE, { ALPHACORE_VALIDATOR_SA: 'validator@example.com' });
    expect([o.validatorSa, o.validatorSaSource]).toEqual(['val@proj.iam.gserviceaccount.com', 'creds']);
  });

  it('--disable-llm needs no key; --no-autoupdate needs no creds file when the SA is given', async () => {
    const o = await resolve([...BASE, '--disable-llm', '--no-autoupdate', '--validator-sa', 'a@b.iam.gserviceaccount.com'], { OPENAI_API_KEY: '' });
    expect([o.enableLlm, o.autoupdate, o.openaiApiKey, o.gcpCredsFile]).toEqual([false, false, undefined, undefined]);
  });
});

describe('launch checks: each alone names the flag', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['missing wallet', ['--hotkey', 'h', '--netuid', '1', '--network', 'finney'], {}, /--wallet-name is required/],
    ['missing hotkey', ['--wallet-name', 'c', '--netuid', '1', '--network', 'finney'], {}, /--hotkey is required/],
    ['missing netuid', ['--wallet-name', 'c', '--hotkey', 'h', '--network', 'finney'], {}, /--netuid is required/],
    ['missing network', ['--wallet-name', 'c', '--hotkey', 'h', '--netuid', '1'], {}, /--network is required/],
    ['other network without an endpoint', [...BASE.slice(0, 6), '--network', 'mainnet'], {}, /--network mainnet is not one of local, test, finney, so it has no default endpoint: pass --chain-endpoint/],
    ['bad netuid', [...BASE.slice(0, 4), '--netuid', '-1', '--network', 'finney'], {}, /--netuid -1 must be a subnet uid, an integer 0-65535/],
    ['netuid over 16 bits', [...BASE.slice(0, 4), '--netuid', '99999', '--network', 'finney'], {}, /--netuid 99999 must be a subnet uid, an integer 0-65535/],
    ['wallet name with a slash', ['--wallet-name', 'a/b', ...BASE.slice(2)], {}, /--wallet-name "a\/b" contains '\/'/],
    ['hotkey with a leading dash', [...BASE.slice(0, 2), '--hotkey=-x', ...BASE.slice(4)], {}, /--hotkey "-x" starts with '-'/],
    ['hotkey with a leading dot', [...BASE.slice(0, 2), '--hotkey', '..', ...BASE.slice(4)], {}, /--hotkey "\.\." starts with '\.'/],
    ['wallet name with a control character', ['--wallet-name', 'a\u001bb', ...BASE.slice(2)], {}, /--wallet-name "a\\u001bb" contains a control character/],
    ['http chain endpoint', [...BASE, '--chain-endpoint', 'https://x:443'], {}, /--chain-endpoint https:\/\/x:443 must be a ws:\/\/ or wss:\/\/ URL/],
    ['bad profile', [...BASE, '--profile', 'prod'], {}, /--profile prod is not one of local, testing, production/],
    ['placeholder SA', [...BASE, '--validator-sa', 'your-validator-sa@project.iam.gserviceaccount.com'], {}, /placeholder/],
    ['SA not an email', [...BASE, '--validator-sa', 'not-an-email'], {}, /--validator-sa not-an-email does not look like an email/],
    ['no SA anywhere', [...BASE, '--no-autoupdate'], {}, /--validator-sa is required/],
    ['creds file missing', [...BASE, '--gcp-creds-file', '/nope/sa.json'], {}, /--gcp-creds-file \/nope\/sa.json does not exist/],
    ['no creds with autoupdate', [...BASE, '--gcp-creds-file', ''], {}, /--gcp-creds-file .*does not exist/],
    ['bad API endpoint', [...BASE, '--validation-api-endpoint', 'ftp://x'], {}, /--validation-api-endpoint ftp:\/\/x must be an http/],
    ['bad http port', [...BASE, '--http-port', '80a'], {}, /--http-port 80a must be an integer port/],
    ['bad process name', [...BASE, '--process-name', 'a/b'], {}, /--process-name "a\/b" contains '\/'/],
    ['bad namespace (env)', BASE, { PM2_NAMESPACE: 'a b' }, /--pm2-namespace a b: use letters/],
    ['bad interval', [...BASE, '--autoupdate-interval', 'soon'], {}, /--autoupdate-interval: "soon" is not a time span/],
    ['bad interval (env)', BASE, { ALPHACORE_AUTOUPDATE_INTERVAL: '2 fortnights' }, /ALPHACORE_AUTOUPDATE_INTERVAL: "2 fortnights" is not a time span/],
    ['no OpenAI key', BASE, { OPENAI_API_KEY: '' }, /OpenAI key is required.*--disable-llm/],
    ['bad postprocess', [...BASE, '--prompt-postprocess', 'some'], {}, /--prompt-postprocess some is not one of none, minimal, full/],
    ['bad tick seconds', [...BASE, '--tick-seconds', '0'], {}, /--tick-seconds 0 must be an integer of at least 1/],
    ['bad epoch slots', [...BASE, '--epoch-slots', 'two'], {}, /--epoch-slots two must be an integer/],
    ['slot index out of range', [...BASE, '--epoch-slots', '2', '--epoch-slot-index', '2'], {}, /--epoch-slot-index 2 must be below --epoch-slots \(2\): 0..1/],
    ['bad weights min tasks', [...BASE, '--weights-min-tasks-before-emit', '1.5'], {}, /--weights-min-tasks-before-emit 1.5 must be an integer/],
    ['relative round lockfile', [...BASE, '--round-lockfile', 'round.lock'], {}, /--round-lockfile round.lock must be an absolute path/],
    ['unknown flag', [...BASE, '--wallet', 'x'], {}, /--wallet: unknown flag/],
    ['misspelled flag', [...BASE, '--chian-endpoint', 'x'], {}, /--chian-endpoint: unknown flag \(did you mean --chain-endpoint\?\)/],
    ['stray word', [...BASE, 'oops'], {}, /oops: unknown argument/],
    ['newline in a value', [...BASE, '--validator-sa', 'a@b.c\nX=1'], {}, /--validator-sa contains a newline/],
  ];
  for (const [name, argv, env, expected] of cases) {
    it(name, async () => {
      const list = await problems(argv, env);
      expect(list.some((p) => expected.test(p)), list.join('\n')).toBe(true);
    });
  }

  it('a repo without the PM2 wrapper is refused', async () => {
    const w = world();
    fs.rmSync(path.join(w.repo, 'scripts'), { recursive: true });
    const args = await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds]);
    expect(() => resolveLaunchOptions(args, w.facts)).toThrow(/has no scripts\/validator\/process\/start_validator_pm2.sh/);
  });
});

describe('launch checks: all reported at once', () => {
  it('lists every problem in one UserError', async () => {
    const list = await problems(['--netuid', 'x', '--network', 'foo', '--http-port', '0', '--profile', 'p', '--epoch-slots', '0', '--bogus', '1', '--prompt-postprocess', 'x'], { OPENAI_API_KEY: '' });
    expect(list.length).toBeGreaterThanOrEqual(10);
    for (const flag of ['--bogus', '--wallet-name', '--hotkey', '--netuid x', '--network foo', '--http-port 0', '--profile p', '--epoch-slots 0', 'OpenAI key', '--prompt-postprocess x']) {
      expect(list.some((p) => p.includes(flag)), `${flag} missing from:\n${list.join('\n')}`).toBe(true);
    }
  });

  it('an interval cron cannot run is reported with the other problems when cron would run the timer (trial defect 11)', async () => {
    const w = world();
    const args = await parseLaunchArgv([...BASE.slice(0, 4), '--netuid', 'abc', '--network', 'test', '--gcp-creds-file', w.creds, '--autoupdate-interval', '7m']);
    const error = (() => {
      try {
        resolveLaunchOptions(args, { ...w.facts, scheduler: 'cron' });
      } catch (e) {
        return e as UserError;
      }
      throw new Error('expected a UserError');
    })();
    expect(error.problems).toEqual([
      expect.stringMatching(/^--netuid abc must be a subnet uid/),
      expect.stringMatching(/^--autoupdate-interval: cron cannot run every 7m; .*Use 6m or 10m instead/),
    ]);
    // A systemd timer runs any span; without autoupdate there is no timer at all.
    expect(resolveLaunchOptions({ ...args, netuid: '66' }, { ...w.facts, scheduler: 'systemd' }).autoupdateInterval).toBe('7m');
    expect(resolveLaunchOptions({ ...args, netuid: '66', autoupdate: false }, { ...w.facts, scheduler: 'cron' }).autoupdate).toBe(false);
  });

  it('relaunch skips what only a first launch needs (interval, creds for the updater)', async () => {
    const o = await resolve([...BASE, '--validator-sa', 'a@b.iam.gserviceaccount.com', '--autoupdate-interval', 'never', '--gcp-creds-file', '/nope'], {}, 'relaunch').catch((e: UserError) => e);
    expect(o).toBeInstanceOf(UserError);
    expect((o as UserError).problems).toEqual([expect.stringMatching(/--gcp-creds-file \/nope does not exist/)]);
  });
});

describe('launch_validator.sh parity (issue 9): any network with an endpoint, names that do not break a path', () => {
  it('--network mars with --chain-endpoint is accepted; its profile and slots are the non-local defaults', async () => {
    const o = await resolve(['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '66', '--network', 'mars', '--chain-endpoint', 'wss://mars.example:443']);
    expect(o).toMatchObject({ network: 'mars', chainEndpoint: 'wss://mars.example:443', profile: 'testing', epochSlots: '4', processName: 'validator-hot-mars' });
    expect(o.envFile).toMatch(/\/env\/mars\/validator-cold-hot\.env$/);
  });

  it('wallet and hotkey names with spaces and other characters the bash launcher takes are accepted', async () => {
    const o = await resolve(['--wallet-name', "my cold 'wallet'", '--hotkey', 'hot key$1', '--netuid', '0', '--network', 'test']);
    expect(o).toMatchObject({ walletName: "my cold 'wallet'", hotkey: 'hot key$1', netuid: '0', processName: 'validator-hot key$1-test' });
    expect(o.envFile).toMatch(/\/env\/test\/validator-my cold 'wallet'-hot key\$1\.env$/);
  });
});

describe('a deploy clone whose path PM2 cannot start a script from', () => {
  it('a path with a space is refused, naming --repo-dir and the fix (PM2 would crash-loop bash on itself)', async () => {
    const w = world();
    const spaced = path.join(w.root, 'my clone');
    fs.cpSync(w.repo, spaced, { recursive: true });
    let caught: unknown;
    try {
      await resolveLaunchOptions(await parseLaunchArgv([...BASE, '--gcp-creds-file', w.creds, '--disable-llm']), { ...w.facts, repoDir: spaced });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).problems.join('\n')).toMatch(/^--repo-dir ".*my clone" contains whitespace, .* path without spaces/m);
  });
});

describe('the wallet and hotkey must exist (a typo starts a validator that crash-loops)', () => {
  const flags = (w: ReturnType<typeof world>, more: string[]) => parseLaunchArgv(['--netuid', '66', '--network', 'finney', '--gcp-creds-file', w.creds, ...more]);
  const problemsOf = async (w: ReturnType<typeof world>, more: string[]): Promise<string[]> => {
    try {
      resolveLaunchOptions(await flags(w, more), w.facts);
    } catch (error) {
      return (error as UserError).problems;
    }
    return [];
  };

  it('a wallet name typo names the path looked at, the nearest wallet and the fix, with the other problems', async () => {
    const w = world();
    createWallet(homeWallets(w.facts.home), 'coldkey', ['hot']);
    const found = await problemsOf(w, ['--wallet-name', 'coldkye', '--hotkey', 'hot', '--http-port', 'x']);
    const wallets = homeWallets(w.facts.home);
    expect(found).toHaveLength(2);
    expect(found).toContain('--http-port x must be an integer port 1-65535.');
    expect(found.find((p) => p.startsWith('--wallet-name'))).toBe(
      `--wallet-name coldkye: no wallet "coldkye" in ${wallets} (did you mean coldkey?) (looked for ${wallets}/coldkye/coldkeypub.txt). ` +
        `Fix the name, pass --wallet-path with the folder that holds your wallets (the wallet path ${wallets} is the default), ` +
        `or restore the public key: btcli wallet regen_coldkeypub --wallet.name coldkye --wallet.path ${wallets}.`,
    );
  });

  it('a missing hotkey names hotkeys/<name> and the existing ones; --wallet-path is where it looks', async () => {
    const w = world();
    const elsewhere = path.join(w.root, 'wallets');
    createWallet(elsewhere, 'cold', ['hot-a', 'hot-b']);
    const [problem, ...rest] = await problemsOf(w, ['--wallet-name', 'cold', '--hotkey', 'hot', '--wallet-path', elsewhere]);
    expect(rest).toEqual([]);
    expect(problem).toContain(`--hotkey hot: wallet cold has no such hotkey (looked for ${elsewhere}/cold/hotkeys/hot)`);
    expect(problem).toMatch(/did you mean hot-a\?|holds: hot-a, hot-b/);
    expect(problem).toContain(`btcli wallet new_hotkey --wallet.name cold --wallet.hotkey hot --wallet.path ${elsewhere}`);
    // The default folder has a `cold`/`hot` (the world's), but --wallet-path points elsewhere.
    expect(fs.existsSync(path.join(homeWallets(w.facts.home), 'cold', 'hotkeys', 'hot'))).toBe(true);
  });

  it('a wallet folder without coldkeypub.txt is named as such', async () => {
    const w = world();
    fs.mkdirSync(path.join(homeWallets(w.facts.home), 'bare', 'hotkeys'), { recursive: true });
    const [problem] = await problemsOf(w, ['--wallet-name', 'bare', '--hotkey', 'hot']);
    expect(problem).toContain(`--wallet-name bare: ${path.join(homeWallets(w.facts.home), 'bare')} has no coldkeypub.txt`);
  });

  it("the updater's relaunch does not check: it must not turn a missing key file into a validator left down", async () => {
    const w = world();
    const o = resolveLaunchOptions(await flags(w, ['--wallet-name', 'nobody', '--hotkey', 'none']), w.facts, 'relaunch');
    expect(o.walletName).toBe('nobody');
  });
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/core/config.js';
import { readConfigSource } from '../../src/core/config-source.js';
import {
  bashCronLines, bashTimerInterval, parseBashCronLine, parseBashService, servesNamespace, withoutLines,
} from '../../src/scheduler/bash-legacy.js';
import { fixtureGit } from '../helpers/alphacore-fixture.js';
import { locateRealRepo, realRepoSkip } from '../helpers/real-repo.js';
import { tempDir } from '../helpers/tmp.js';

/** What ensure_autoupdate_timer.sh writes, in its exact shapes (DESIGN.md §10). */
const REPO = '/home/op/AlphaCore';
const SCRIPT = `${REPO}/scripts/validator/process/autoupdate_release.sh`;
const bashLine = (cfg: string, ns: string, every = 2) =>
  `*/${every} * * * * cd ${REPO} && /bin/bash ${SCRIPT} --config ${cfg} >> ${REPO}/logs/autoupdate/${ns}.log 2>&1`;
const BASH_SERVICE = `[Unit]
Description=AlphaCore auto-update (%i)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory=${REPO}
ExecStart=/bin/bash -lc 'mkdir -p ${REPO}/logs/autoupdate; bash ${SCRIPT} --config /home/op/.config/alphacore/autoupdate/alphacore.env >> ${REPO}/logs/autoupdate/%i.log 2>&1'
`;

describe('the bash updater\'s crontab line', () => {
  it('is recognised with its config, clone, log namespace and schedule', () => {
    expect(parseBashCronLine(bashLine('/etc/alphacore/autoupdate.env', 'alphacore', 5))).toEqual({
      line: bashLine('/etc/alphacore/autoupdate.env', 'alphacore', 5),
      config: '/etc/alphacore/autoupdate.env',
      repo: REPO,
      logNamespace: 'alphacore',
      minutes: 5,
    });
  });

  it('a relative --config is relative to the clone it ran in', () => {
    expect(parseBashCronLine(`*/2 * * * * cd ${REPO} && /bin/bash ${SCRIPT} --config autoupdate.env >> /x.log 2>&1`)?.config).toBe(`${REPO}/autoupdate.env`);
  });

  it('ours, comments and other jobs are not bash updater lines', () => {
    expect(parseBashCronLine(`# ${bashLine('/c.env', 'a')}`)).toBeUndefined();
    expect(parseBashCronLine("*/2 * * * * PATH='/usr/bin' '/usr/bin/node' '/x/alphacore.js' update --config '/c.env' >/dev/null 2>&1 # alphacore-autoupdate:a")).toBeUndefined();
    expect(parseBashCronLine('0 3 * * * /usr/bin/backup --config /etc/backup.env')).toBeUndefined();
  });

  it('removing lines keeps every other line byte for byte', () => {
    const others = '# mine\nMAILTO=""\n0 0 1 1 *   /usr/bin/true  "keep  % spacing"\n\n';
    const tab = `${others}${bashLine('/a.env', 'a')}\n${bashLine('/b.env', 'b')}\n`;
    const lines = bashCronLines(tab);
    expect(lines.map((l) => l.logNamespace)).toEqual(['a', 'b']);
    expect(withoutLines(tab, [lines[0]!.line])).toBe(`${others}${bashLine('/b.env', 'b')}\n`);
    expect(withoutLines(tab, lines.map((l) => l.line))).toBe(others);
  });

  it('serves a namespace by config path, by the config\'s PM2_NAMESPACE, else by its log name', () => {
    const target = { namespace: 'alphacore', configFile: '/home/op/.config/alphacore/autoupdate/alphacore.env' };
    const namespaces: Record<string, string> = { '/etc/alphacore/autoupdate.env': 'alphacore', '/etc/other.env': 'other' };
    const nsOf = (file: string) => namespaces[file];
    expect(servesNamespace({ config: target.configFile }, target, () => 'whatever')).toBe(true);
    expect(servesNamespace({ config: '/etc/alphacore/autoupdate.env', fallbackNamespace: 'x' }, target, nsOf)).toBe(true);
    expect(servesNamespace({ config: '/etc/other.env', fallbackNamespace: 'alphacore' }, target, nsOf)).toBe(false);
    expect(servesNamespace({ config: '/unreadable.env', fallbackNamespace: 'alphacore' }, target, nsOf)).toBe(true);
    expect(servesNamespace({ config: '/unreadable.env', fallbackNamespace: 'b' }, target, nsOf)).toBe(false);
  });
});

describe('the bash updater\'s systemd units', () => {
  it('the service template is recognised with its baked config and clone; ours is not', () => {
    expect(parseBashService(BASH_SERVICE)).toEqual({ config: '/home/op/.config/alphacore/autoupdate/alphacore.env', repo: REPO });
    const ours = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'templates', 'alphacore-autoupdate@.service'), 'utf8');
    expect(parseBashService(ours)).toBeUndefined();
  });

  it('the timer template gives its interval', () => {
    expect(bashTimerInterval('[Timer]\nOnActiveSec=5m\nOnUnitActiveSec=5m\nRandomizedDelaySec=30\n')).toBe('5m');
  });
});

describe.skipIf(realRepoSkip())('a bash-era config, read unchanged', () => {
  /** The real repo's example config, and what bash itself makes of it (`set -a; source`). */
  function example(): { file: string; bash: Record<string, string> } {
    const found = locateRealRepo();
    if ('skip' in found) throw new Error(found.skip);
    const dir = tempDir('alphacore-bash-config-');
    const file = path.join(dir, 'autoupdate.env');
    if (found.kind === 'clone') fs.copyFileSync(path.join(found.path, 'scripts/validator/process/autoupdate.env.example'), file);
    else fs.writeFileSync(file, showFromBundle(found.path, dir));
    const script = `set -a; source "$1"; set +a; for k in ${CONFIG_KEYS.join(' ')}; do [ -n "\${!k+x}" ] && printf '%s\\0%s\\0' "$k" "\${!k}"; done; true`;
    const out = execFileSync('env', ['-i', 'PATH=/usr/bin:/bin', 'bash', '-c', script, '_', file], { encoding: 'utf8' }).split('\0');
    const bash: Record<string, string> = {};
    for (let i = 0; i + 1 < out.length; i += 2) bash[out[i]!] = out[i + 1]!;
    return { file, bash };
  }

  it('autoupdate.env.example from the real repository: the same keys and values as bash sources, nothing unknown', () => {
    const { file, bash } = example();
    const { settings, unknown } = readConfigSource(file, CONFIG_KEYS, {}, {}, '/home/op');
    const values = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, v!.value]));
    expect(unknown).toEqual([]);
    // An empty value is no value, for bash's `${X:-default}` and for the reader alike.
    expect(values).toEqual(Object.fromEntries(Object.entries(bash).filter(([, v]) => v !== '')));
    expect(values).toMatchObject({ NETWORK: 'finney', PM2_NAMESPACE: 'alphacore', NETUID: '123', VALIDATOR_ROUND_LOCKFILE: '/tmp/alphacore-validator-round.lock' });
  });
});

/** The example file at main in the bundle, without a checkout. */
function showFromBundle(bundle: string, dir: string): string {
  const clone = path.join(dir, 'clone');
  fixtureGit(dir, 'clone', '--quiet', '--no-checkout', '--branch', 'main', bundle, clone);
  return fixtureGit(clone, 'show', 'main:scripts/validator/process/autoupdate.env.example') + '\n';
}

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { parseInterval } from '../../src/core/interval.js';
import { cronWord, systemdEnvironment, systemdExecArg, systemdExecutable } from '../../src/render/escape.js';
import {
  loadTemplates, renderCronLine, renderServiceDropIn, renderServiceTemplate, renderTimerDropIn, type RunSpec,
} from '../../src/render/scheduler.js';
import { tempDir } from '../helpers/tmp.js';

const templates = loadTemplates(path.resolve(import.meta.dirname, '..', '..', 'templates'));

const ordinary: RunSpec = {
  namespace: 'alphacore',
  nodePath: '/usr/bin/node',
  cliPath: '/opt/alphacore/bin/alphacore.js',
  configFile: '/home/val/.config/alphacore/autoupdate/alphacore.env',
  environment: [['PATH', '/usr/bin:/bin'], ['PM2_HOME', '/home/val/.pm2']],
  interval: parseInterval('2m', '--interval'),
};

describe('systemd units', () => {
  it('renders the service template with quoted absolute paths and nothing namespace-specific', () => {
    const text = renderServiceTemplate(templates, ordinary);
    expect(text).toContain('ExecStart="/usr/bin/node" "/opt/alphacore/bin/alphacore.js" update --config ${ALPHACORE_AUTOUPDATE_CONFIG}\n');
    expect(text).toContain('Type=oneshot\n');
    expect(text).toContain('KillMode=process\n');
    expect(text).not.toContain('alphacore.env');
  });

  it('renders the per-namespace service drop-in exactly', () => {
    expect(renderServiceDropIn(templates, ordinary)).toBe(
      '# Installed by alphacore-launcher for namespace alphacore; `alphacore autoupdate disable --namespace alphacore` removes it.\n' +
        '[Service]\n' +
        'Environment="ALPHACORE_AUTOUPDATE_CONFIG=/home/val/.config/alphacore/autoupdate/alphacore.env"\n' +
        'Environment="PATH=/usr/bin:/bin"\n' +
        'Environment="PM2_HOME=/home/val/.pm2"\n',
    );
  });

  it('renders the per-namespace timer drop-in exactly', () => {
    expect(renderTimerDropIn(templates, { namespace: 'testnet', interval: parseInterval('5m', 'x') })).toBe(
      '# Installed by alphacore-launcher for namespace testnet; `alphacore autoupdate disable --namespace testnet` removes it.\n' +
        '[Timer]\n' +
        '# The empty assignment clears the template\'s timers before setting this namespace\'s.\n' +
        'OnActiveSec=\n' +
        'OnActiveSec=5m\n' +
        'OnUnitActiveSec=5m\n' +
        'RandomizedDelaySec=30s\n',
    );
    expect(renderTimerDropIn(templates, { namespace: 'ci', interval: parseInterval('3s', 'x') })).toContain('RandomizedDelaySec=0s\n');
  });

  it('escapes spaces, %, quotes, backslashes and $ for systemd', () => {
    expect(systemdExecArg('/a b/50%/"q"/\\/$HOME', 'x')).toBe('"/a b/50%%/\\"q\\"/\\\\/$$HOME"');
    // The program path: systemd expands % but not $ there, and refuses quotes and backslashes.
    expect(systemdExecutable('/a b/50%/$HOME/node', 'x')).toBe('"/a b/50%%/$HOME/node"');
    expect(() => systemdExecutable('/a"b/node', 'the node path')).toThrow(/the node path .* quote or a backslash/);
    expect(() => systemdExecutable("/a'b/node", 'x')).toThrow(UserError);
    expect(() => systemdExecutable('/a\\b/node', 'x')).toThrow(UserError);
    expect(systemdEnvironment('PATH', '/a b:/c%d:/"e"\\:$f', 'x')).toBe('Environment="PATH=/a b:/c%%d:/\\"e\\"\\\\:$f"');
  });

  it('survives systemd-analyze verify with a hostile executable path', (ctx) => {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
      console.log('skipped: systemd-analyze is not installed');
      ctx.skip();
    }
    const root = tempDir();
    const dir = path.join(root, 'odd dir 100%h $HOME ;|& #x');
    fs.mkdirSync(dir);
    const prog = path.join(dir, 'prog');
    fs.writeFileSync(prog, '#!/bin/sh\n', { mode: 0o755 });
    const units = path.join(root, 'units');
    fs.mkdirSync(units);
    // verify prints problems and still exits 0: its output is what counts.
    const verify = (unit: string, text: string): string => {
      fs.writeFileSync(path.join(units, unit), text);
      const r = spawnSync('systemd-analyze', ['verify', path.join(units, unit)], { encoding: 'utf8' });
      return `${r.stdout}${r.stderr}`;
    };
    const text = renderServiceTemplate(templates, { nodePath: prog, cliPath: `${root}/cli "q" it's \\ 50% $HOME` });
    expect(verify('probe@x.service', text)).toBe('');
    // The control: without the %% escape systemd looks for another file, and says so.
    expect(verify('bad.service', `[Service]\nType=oneshot\nExecStart="${prog}"\n`)).toMatch(/not executable|No such file/);
  });

  it('refuses a newline in any value', () => {
    expect(() => renderServiceDropIn(templates, { ...ordinary, configFile: '/a\nb.env' })).toThrow(UserError);
    expect(() => renderServiceTemplate(templates, { ...ordinary, cliPath: '/a\n[Service]\nExecStart=/bin/evil' })).toThrow(/newline/);
    expect(() => renderServiceDropIn(templates, { ...ordinary, environment: [['PATH', '/bin\r']] })).toThrow(UserError);
  });
});

describe('crontab line', () => {
  it('renders exactly, with the marker at the end', () => {
    expect(renderCronLine(templates, ordinary, '*/2 * * * *')).toBe(
      "*/2 * * * * PATH='/usr/bin:/bin' PM2_HOME='/home/val/.pm2' '/usr/bin/node' '/opt/alphacore/bin/alphacore.js' update --config " +
        "'/home/val/.config/alphacore/autoupdate/alphacore.env' >/dev/null 2>&1 # alphacore-autoupdate:alphacore",
    );
  });

  it('escapes % outside the quotes and quotes for sh', () => {
    expect(cronWord("/a b/50%/it's", 'x')).toBe(`'/a b/50'\\%'/it'\\''s'`);
    expect(cronWord('/x\\%y', 'x')).toBe(`'/x\\'\\%'y'`);
  });

  it('reads back as the value through cron\'s % rule and a real sh', () => {
    const hostile = `/tmp/a b/50% "q" it's \\% $HOME \`id\` ;|&`;
    const word = cronWord(hostile, 'x');
    // cron's rule (do_command.c): an unescaped % ends the command; "\%" becomes "%".
    expect(/(^|[^\\])%/.test(word)).toBe(false);
    const afterCron = word.replace(/\\%/g, '%');
    expect(execFileSync('sh', ['-c', `printf %s ${afterCron}`], { encoding: 'utf8' })).toBe(hostile);
  });

  it('refuses a newline', () => {
    expect(() => renderCronLine(templates, { ...ordinary, configFile: '/a\nb' }, '*/2 * * * *')).toThrow(UserError);
  });
});

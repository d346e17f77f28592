import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { PROMTOOL_MISSING } from '../helpers/prom.js';
import { tempDir } from '../helpers/tmp.js';

const RULES = path.join(PROJECT_ROOT, 'deploy', 'prometheus', 'alphacore.rules.yml');

if (PROMTOOL_MISSING) console.log(`alert rules tests skipped: ${PROMTOOL_MISSING}`);
const suite = PROMTOOL_MISSING ? describe.skip : describe;

const promtool = (...args: string[]) => spawnSync('promtool', args, { encoding: 'utf8' });

const ann = (what: string, ns = 'alphacore', instance = 'v1') => {
  const texts: Record<string, { summary: string; description: string }> = {
    behind: {
      summary: `AlphaCore on ${instance} (${ns}) has been behind its release branch for over an hour`,
      description: `Run \`alphacore status --namespace ${ns}\` on the host: it says why (deferred by rounds, quarantined, fetch failing).`,
    },
    rollback: {
      summary: `AlphaCore on ${instance} (${ns}) rolled back an update in the last hour`,
      description: 'The release failed its health check and is quarantined; see `alphacore status` and the updater log.',
    },
    stale: {
      summary: `No AlphaCore update run on ${instance} (${ns}) for 10 minutes`,
      description: `Check the timer with \`alphacore autoupdate status --namespace ${ns}\`.`,
    },
  };
  return texts[what]!;
};

suite('alert rules (deploy/prometheus/alphacore.rules.yml)', () => {
  it('promtool check rules accepts the file', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 4 rules found');
  });

  it('the README shows the rules file verbatim', () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`yaml\n${fs.readFileSync(RULES, 'utf8')}\`\`\``);
  });

  it('promtool test rules: each alert fires on the series it is for, and not before', () => {
    const v1 = 'namespace="alphacore",instance="v1"';
    const tests = {
      rule_files: [RULES],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // Behind since minute 0, growing 60 s a minute (a fetch failing for hours reads the same).
            { series: `alphacore_behind_seconds{${v1}}`, values: '0+60x120' },
            // One rollback at minute 30.
            { series: `alphacore_rollbacks_total{${v1}}`, values: '0x29 1x150' },
            // Runs every minute (timestamp = now) until minute 20, then the timer stops.
            { series: `alphacore_last_run_timestamp_seconds{${v1},outcome="deferred"}`, values: '0+60x20 1200x100' },
          ],
          alert_rule_test: [
            { eval_time: '50m', alertname: 'AlphacoreValidatorBehind', exp_alerts: [] },
            { eval_time: '70m', alertname: 'AlphacoreValidatorBehind', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'alphacore', instance: 'v1' }, exp_annotations: ann('behind') }] },
            { eval_time: '20m', alertname: 'AlphacoreRollback', exp_alerts: [] },
            { eval_time: '40m', alertname: 'AlphacoreRollback', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'alphacore', instance: 'v1' }, exp_annotations: ann('rollback') }] },
            { eval_time: '100m', alertname: 'AlphacoreRollback', exp_alerts: [] },
            { eval_time: '25m', alertname: 'AlphacoreUpdaterNotRunning', exp_alerts: [] },
            { eval_time: '35m', alertname: 'AlphacoreUpdaterNotRunning', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'alphacore', instance: 'v1' }, exp_annotations: ann('stale') }] },
          ],
        },
      ],
    };
    const file = path.join(tempDir('alphacore-rules-'), 'alphacore.rules.test.yml');
    fs.writeFileSync(file, JSON.stringify(tests, null, 2)); // JSON is YAML
    const r = promtool('test', 'rules', file);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});

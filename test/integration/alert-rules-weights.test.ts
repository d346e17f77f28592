import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { PROMTOOL_MISSING } from '../helpers/prom.js';
import { tempDir } from '../helpers/tmp.js';

const RULES = path.join(PROJECT_ROOT, 'deploy', 'prometheus', 'alphacore.rules.yml');

if (PROMTOOL_MISSING) console.log(`weights alert rule tests skipped: ${PROMTOOL_MISSING}`);
const suite = PROMTOOL_MISSING ? describe.skip : describe;

const annotations = (ns: string, instance: string) => ({
  summary: `The AlphaCore validator on ${instance} (${ns}) has set no weights for twice its warm-up`,
  description: `Run \`alphacore status --namespace ${ns}\` on the host: its Weights line says whether the validator is warming up after restarts (consider RESTART_POLICY=coalesce) or cannot be read.`,
});

suite('the no-weights alert (DESIGN.md §14)', () => {
  it('fires after twice the expected warm-up without weights (needed x 72 min x 2), 24 h when needed is unknown', () => {
    // Evaluated every 10 minutes over two days. v1 needs 10 tasks (24 h), v2 needs 2
    // (4 h 48 min), v3 exports no needed count (24 h). Each last emitted at time 0.
    const series = (instance: string, needed?: number) => [
      { series: `alphacore_validator_weights_last_emit_timestamp_seconds{namespace="alphacore",instance="${instance}"}`, values: '0x300' },
      ...(needed === undefined ? [] : [{ series: `alphacore_validator_weights_tasks{namespace="alphacore",instance="${instance}",kind="needed"}`, values: `${needed}x300` }]),
    ];
    const fired = (instance: string) => ({ exp_labels: { severity: 'warning', namespace: 'alphacore', instance }, exp_annotations: annotations('alphacore', instance) });
    const tests = {
      rule_files: [RULES],
      evaluation_interval: '10m',
      tests: [
        {
          interval: '10m',
          input_series: [...series('v1', 10), ...series('v2', 2), ...series('v3')],
          alert_rule_test: [
            { eval_time: '4h40m', alertname: 'AlphacoreValidatorNoWeights', exp_alerts: [] },
            { eval_time: '5h', alertname: 'AlphacoreValidatorNoWeights', exp_alerts: [fired('v2')] },
            { eval_time: '23h50m', alertname: 'AlphacoreValidatorNoWeights', exp_alerts: [fired('v2')] },
            { eval_time: '24h10m', alertname: 'AlphacoreValidatorNoWeights', exp_alerts: [fired('v1'), fired('v2'), fired('v3')] },
          ],
        },
        {
          // Weights every 72 minutes: never fires.
          interval: '72m',
          input_series: [
            { series: 'alphacore_validator_weights_last_emit_timestamp_seconds{namespace="alphacore",instance="v4"}', values: '0+4320x40' },
            { series: 'alphacore_validator_weights_tasks{namespace="alphacore",instance="v4",kind="needed"}', values: '10x40' },
          ],
          alert_rule_test: [{ eval_time: '48h', alertname: 'AlphacoreValidatorNoWeights', exp_alerts: [] }],
        },
      ],
    };
    const file = path.join(tempDir('alphacore-rules-weights-'), 'weights.rules.test.yml');
    fs.writeFileSync(file, JSON.stringify(tests, null, 2));
    const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});

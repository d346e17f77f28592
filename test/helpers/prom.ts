import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { expect } from 'vitest';

/** promtool (Debian package prometheus), or why tests that need it skip. */
export const PROMTOOL_MISSING = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'promtool not found (apt-get install prometheus)';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus's own parser must accept the text (syntax and lint): `promtool check metrics`. */
export function promtoolAccepts(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(r.status, `promtool check metrics:\n${r.stdout}${r.stderr}\n--- text ---\n${text}`).toBe(0);
}

/** The samples of a text exposition (the subset our files use: labels always present). */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The file, checked by promtool, as samples. */
export function readProm(file: string): { text: string; samples: Sample[]; value(name: string, labels?: Record<string, string>): number | undefined } {
  const text = fs.readFileSync(file, 'utf8');
  promtoolAccepts(text);
  const samples = parseProm(text);
  return {
    text,
    samples,
    value(name, labels = {}) {
      return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    },
  };
}

/** The commit an `*_info` family names, or undefined. */
export function infoCommit(samples: Sample[], name: string): string | undefined {
  return samples.find((s) => s.name === name)?.labels.commit;
}

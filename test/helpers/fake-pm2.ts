import fs from 'node:fs';
import path from 'node:path';

export interface Pm2Recorder {
  /** PM2_BIN for the CLI's environment. */
  bin: string;
  /** argv of every call, in order. */
  calls(): string[][];
}

/**
 * A `pm2` that records its argv and answers `jlist` with an empty list: for cycle
 * tests that must prove nothing was stopped (or that PM2 was never asked at all),
 * where a real daemon would add nothing but time. Tests of the restart itself use the
 * real PM2 (restart-world.ts).
 */
export function pm2Recorder(dir: string): Pm2Recorder {
  fs.mkdirSync(dir, { recursive: true });
  const log = path.join(dir, 'pm2-calls.jsonl');
  const bin = path.join(dir, 'pm2');
  fs.writeFileSync(
    bin,
    [
      '#!/usr/bin/env bash',
      `node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)) + "\\n")' -- "$@" >>'${log}'`,
      'if [[ "${1:-}" == jlist ]]; then echo "[]"; fi',
      'exit 0',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return {
    bin,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : []),
  };
}

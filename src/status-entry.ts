/**
 * `alphacore status` in its plain spellings, without yargs (bin/alphacore.js routes
 * `status ...` here first). Loading yargs and the command declarations was ~0.1 s of
 * every status, more on a loaded machine, and status promises an answer within 2 s
 * even when PM2 and the Validation API hang: the probes'
 * budgets leave little room for anything before them.
 *
 * Only what yargs would read the same way is taken here: `--json`, `--namespace NS`,
 * `--config FILE`, each at most once, values that are non-empty and not flag-like.
 * Anything else (`--help`, `--config=FILE`, both --namespace and --config, a typo, a
 * missing value) returns false and goes through the full CLI, which words the usage
 * errors.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tolerateClosedOutput } from './cli-usage.js';
import { processContext } from './core/context.js';
import { reportError } from './core/report-error.js';
import { runStatus, type StatusFlags } from './commands/status/run.js';

/** The flags of a plain `status` command line (argv after `status`), or undefined for the full CLI. */
export function plainStatusFlags(argv: readonly string[]): { namespace?: string; config?: string; json: boolean } | undefined {
  const flags: { namespace?: string; config?: string; json: boolean } = { json: false };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i]!;
    if (seen.has(word)) return undefined;
    seen.add(word);
    if (word === '--json') {
      flags.json = true;
      continue;
    }
    if (word !== '--namespace' && word !== '--config') return undefined;
    const value = argv[i + 1];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    flags[word === '--namespace' ? 'namespace' : 'config'] = value;
    i += 1;
  }
  // yargs says these conflict: its message, not ours.
  if (flags.namespace !== undefined && flags.config !== undefined) return undefined;
  return flags;
}

// dist/status/index.js (bundled) and dist/status-entry.js (tsc) both sit under dist/.
const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.basename(here) === 'status' ? path.resolve(here, '..', '..') : path.resolve(here, '..');

/** Runs `status` when its command line is plain; false: the caller hands it to the full CLI. */
export async function runPlainStatus(argv: readonly string[]): Promise<boolean> {
  const plain = plainStatusFlags(argv);
  if (!plain) return false;
  tolerateClosedOutput();
  const ctx = processContext(path.join(packageRoot, 'bin', 'alphacore.js'));
  let code: number;
  try {
    const flags: StatusFlags = { namespace: plain.namespace, config: plain.config ? path.resolve(ctx.cwd, plain.config) : undefined, json: plain.json };
    code = await runStatus(ctx, flags);
  } catch (error) {
    code = await reportError(ctx, error, Boolean(process.stderr.isTTY));
  }
  process.exitCode = code;
  return true;
}

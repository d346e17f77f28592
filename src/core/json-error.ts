import { OperationError, UserError } from './errors.js';

/** The error object a `--json` command prints on stdout instead of text on stderr. */
export interface JsonError {
  ok: false;
  error: {
    /** usage: bad input, nothing changed (exit 2); operation: it failed while working (exit 1). */
    kind: 'usage' | 'operation';
    exitCode: number;
    message: string;
    hint?: string;
    problems?: string[];
  };
}

/**
 * A UserError or OperationError as one JSON object, with the exit code the human CLI
 * would return (2 usage, 1 operation); undefined for anything else (a bug keeps its
 * stack on stderr). Shared by every command with --json (launch, status).
 */
export function jsonError(error: unknown): JsonError | undefined {
  if (!(error instanceof UserError) && !(error instanceof OperationError)) return undefined;
  const exitCode = error instanceof UserError ? 2 : 1;
  return {
    ok: false,
    error: {
      kind: error instanceof UserError ? 'usage' : 'operation',
      exitCode,
      message: error.message,
      ...(error instanceof UserError && error.hint ? { hint: error.hint } : {}),
      ...(error instanceof UserError && error.problems.length > 0 ? { problems: error.problems } : {}),
    },
  };
}

import { OperationError, UserError } from './errors.js';

/**
 * An error as the `error` member of a command's `--json` object (docs/operator.md: with
 * --json an error is one object on stdout, never text on stderr). The exit code stays
 * what the human CLI returns: 2 bad usage, 1 the operation failed. Anything else is a
 * bug and is not wrapped (undefined): the top-level catch prints its stack.
 */
export interface JsonError {
  kind: 'usage' | 'operation';
  exitCode: 1 | 2;
  message: string;
  hint?: string;
  problems?: string[];
}

export function jsonError(error: unknown): JsonError | undefined {
  if (error instanceof UserError) {
    return {
      kind: 'usage',
      exitCode: 2,
      message: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
      ...(error.problems.length > 0 ? { problems: error.problems } : {}),
    };
  }
  if (error instanceof OperationError) return { kind: 'operation', exitCode: 1, message: error.message };
  return undefined;
}

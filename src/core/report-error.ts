import type { Context } from './context.js';
import { OperationError, UserError } from './errors.js';

/**
 * The one mapping of errors to output and exit codes (STYLE.md practice 1): a
 * UserError prints its message and hint (exit 2), an OperationError its message
 * (exit 1), anything else a stack and "this is a bug" (exit 1). Colour only on a
 * terminal and without NO_COLOR; chalk is loaded only then.
 */
export async function reportError(ctx: Context, error: unknown, stderrIsTTY: boolean): Promise<number> {
  const paint = async (kind: 'error' | 'hint', text: string): Promise<string> => {
    if (!stderrIsTTY || ctx.env.NO_COLOR !== undefined) return text;
    const { default: chalk } = await import('chalk');
    return kind === 'error' ? chalk.red(text) : chalk.dim(text);
  };
  if (error instanceof UserError) {
    ctx.stderr(`${await paint('error', `alphacore: ${error.message}`)}\n`);
    if (error.hint) ctx.stderr(`${await paint('hint', error.hint)}\n`);
    return 2;
  }
  if (error instanceof OperationError) {
    ctx.stderr(`${await paint('error', `alphacore: ${error.message}`)}\n`);
    return 1;
  }
  ctx.stderr(`alphacore: unexpected error; this is a bug, please report it with the output below.\n${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}

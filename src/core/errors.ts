/**
 * Control characters as an operator can read them (`\0`, `\x1b`): a message may quote
 * a hostile value, and its raw bytes must never reach the terminal. Newlines and tabs
 * are the message's own layout and stay.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => (c === '\0' ? '\\0' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** The warnings (unknown or repeated keys) that come with an error, as a message section. */
export function warningSection(warnings: readonly string[]): string {
  return warnings.length === 0 ? '' : `\nWarnings:\n${warnings.map((w) => `  - ${w}`).join('\n')}`;
}

/** Bad usage or bad configuration: the message names the flag, key or line; exit 2. */
export class UserError extends Error {
  readonly hint: string | undefined;
  readonly problems: string[];
  /** Not errors on their own (unknown or repeated config keys), reported with the error. */
  readonly warnings: string[];
  constructor(message: string, options: { hint?: string; problems?: string[]; warnings?: string[] } = {}) {
    super(escapeControl(message));
    this.name = 'UserError';
    this.hint = options.hint === undefined ? undefined : escapeControl(options.hint);
    this.problems = (options.problems ?? []).map(escapeControl);
    this.warnings = (options.warnings ?? []).map(escapeControl);
  }
}

/** The operation itself failed (git, pm2, a health check); exit 1. */
export class OperationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(escapeControl(message), options);
    this.name = 'OperationError';
  }
}

/** Collects every problem so that validation reports them all at once. */
export class Problems {
  readonly list: string[] = [];
  add(problem: string): void {
    this.list.push(problem);
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
  /** Throws every problem at once; `warnings` travel with them, in the message too. */
  throwIfAny(summary: string, hint?: string, warnings: readonly string[] = []): void {
    if (this.empty) return;
    const body = this.list.map((p) => `  - ${p}`).join('\n');
    throw new UserError(`${summary}\n${body}${warningSection(warnings)}`, { hint, problems: [...this.list], warnings: [...warnings] });
  }
}

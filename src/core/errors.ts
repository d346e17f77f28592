/** Bad usage or bad configuration: the message names the flag, key or line; exit 2. */
export class UserError extends Error {
  readonly hint: string | undefined;
  readonly problems: string[];
  constructor(message: string, options: { hint?: string; problems?: string[] } = {}) {
    super(message);
    this.name = 'UserError';
    this.hint = options.hint;
    this.problems = options.problems ?? [];
  }
}

/** The operation itself failed (git, pm2, a health check); exit 1. */
export class OperationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
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
  throwIfAny(summary: string, hint?: string): void {
    if (this.empty) return;
    const body = this.list.map((p) => `  - ${p}`).join('\n');
    throw new UserError(`${summary}\n${body}`, { hint, problems: [...this.list] });
  }
}

import { stateWriteProblem, writeState, type UpdateState } from './state.js';

/** The state file could not be written (a full disk, a read-only filesystem); `message` names the fix. */
export class StateWriteError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(stateWriteProblem(file, cause), { cause });
    this.name = 'StateWriteError';
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** One run's state: read once after the lock, written by the real run only. */
export class StateStore {
  constructor(
    readonly file: string,
    readonly state: UpdateState,
  ) {}

  /** Writes the state; throws StateWriteError. `durable: false` skips the fsync (see writeState). */
  async save(options: { durable?: boolean } = {}): Promise<void> {
    try {
      await writeState(this.file, this.state, options);
    } catch (error) {
      throw new StateWriteError(this.file, error);
    }
  }

  /** save() for the steps that go on whatever: the error, or undefined when written. */
  async trySave(options: { durable?: boolean } = {}): Promise<StateWriteError | undefined> {
    try {
      await this.save(options);
      return undefined;
    } catch (error) {
      if (error instanceof StateWriteError) return error;
      throw error;
    }
  }
}

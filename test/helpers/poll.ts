/**
 * The one polling helper of the tests: waits until `probe` gives a value (anything but
 * undefined or false; a boolean probe gives true) and returns it. `ms` only ends a test
 * that would otherwise hang, with `what` (and `detail()`, e.g. the PM2 list) in the
 * error; no timing is asserted.
 */
export interface PollOptions {
  what?: string;
  ms?: number;
  everyMs?: number;
  detail?: () => string;
}

export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, options: PollOptions | number = {}): Promise<T> {
  const { what = 'a condition', ms = 30_000, everyMs = 200, detail } = typeof options === 'number' ? { ms: options } : options;
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${detail ? `: ${detail()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

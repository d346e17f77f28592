import fs from 'node:fs';

/** Reading the end of a log file and following it, for `alphacore logs`. */

const CHUNK = 64 * 1024;

/** The last `n` lines of a file, reading backwards from the end (a PM2 log can be large); undefined when it does not exist. */
export function lastLines(file: string, n: number): { lines: string[]; size: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    let start = size;
    let text = '';
    while (start > 0 && text.split('\n').length <= n + 1) {
      const from = Math.max(0, start - CHUNK);
      const buffer = Buffer.alloc(start - from);
      fs.readSync(fd, buffer, 0, buffer.length, from);
      text = buffer.toString('utf8') + text;
      start = from;
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return { lines: n === 0 ? [] : lines.slice(-n), size };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Follows files from given offsets by polling (portable, and a rotated or truncated
 * file is picked up again from its start). Calls `emit` with each complete new line.
 */
export class Follower {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly files: { label: string; file: string; offset: number }[],
    private readonly emit: (label: string, line: string) => void,
  ) {
    for (const f of files) this.offsets.set(f.file, f.offset);
  }

  /** Reads whatever was appended since the last poll. */
  poll(): void {
    for (const { label, file } of this.files) {
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        continue; // not there (yet, or between rotation steps)
      }
      let offset = this.offsets.get(file) ?? 0;
      if (size < offset) offset = 0; // rotated or truncated: read the new file from its start
      if (size === offset) continue;
      const fd = fs.openSync(file, 'r');
      try {
        const buffer = Buffer.alloc(Math.min(size - offset, 4 * CHUNK));
        const read = fs.readSync(fd, buffer, 0, buffer.length, offset);
        this.offsets.set(file, offset + read);
        const text = (this.partial.get(file) ?? '') + buffer.subarray(0, read).toString('utf8');
        const lines = text.split('\n');
        this.partial.set(file, lines.pop() ?? '');
        for (const line of lines) this.emit(label, line);
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  /** Polls every `intervalMs` until `signal` aborts. */
  async run(signal: AbortSignal, intervalMs = 500): Promise<void> {
    while (!signal.aborted) {
      this.poll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}

/**
 * Progress on long steps (a venv's pip install, a health wait): without it the
 * terminal is silent for tens of seconds. One line per phase with its elapsed time:
 * on a terminal a live line (spinner + seconds, redrawn in place and replaced by the
 * final line), elsewhere plain lines, nothing at all in JSON mode. Other output
 * written meanwhile goes through `write`, which clears the live line first and
 * redraws it after, so the two never interleave on one row.
 */
export type ProgressMode = 'live' | 'plain' | 'silent';

export interface Progress {
  readonly mode: ProgressMode;
  /** Runs `fn` as a named phase; the final line says done or failed, with the time taken. */
  phase<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Writes other output without breaking the live line. */
  write(text: string): void;
}

const FRAMES = ['|', '/', '-', '\\'];
const CLEAR = '\r\x1b[2K';
const TICK_MS = 250;

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function progressMode(options: { json: boolean; isTTY: boolean; env: Readonly<Record<string, string | undefined>> }): ProgressMode {
  if (options.json) return 'silent';
  // TERM=dumb terminals cannot move the cursor back: plain lines there too.
  return options.isTTY && options.env.TERM !== 'dumb' ? 'live' : 'plain';
}

/**
 * `out` writes to the terminal (stdout); `now` is the context's clock. `plainLine`
 * overrides how a plain line is written (the updater sends it through its log).
 */
export function makeProgress(mode: ProgressMode, out: (text: string) => void, now: () => number, plainLine?: (text: string) => void): Progress {
  let live: { title: string; start: number; frame: number } | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const draw = () => {
    if (!live) return;
    live.frame = (live.frame + 1) % FRAMES.length;
    out(`${CLEAR}${FRAMES[live.frame]} ${live.title} (${Math.floor((now() - live.start) / 1000)}s)`);
  };
  const plain = plainLine ?? ((text: string) => out(`${text}\n`));

  return {
    mode,
    write(text) {
      if (mode === 'live' && live) out(CLEAR);
      out(text);
      if (mode === 'live' && live) draw();
    },
    async phase(title, fn) {
      if (mode === 'silent') return fn();
      const start = now();
      if (mode === 'plain') plain(`${title}...`);
      else {
        // Phases do not nest: an inner phase ends the outer live line's redraws until it is done.
        if (timer) clearInterval(timer);
        live = { title, start, frame: 0 };
        draw();
        timer = setInterval(draw, TICK_MS);
      }
      const end = (mark: string, text: string) => {
        if (mode === 'live') {
          if (timer) clearInterval(timer);
          timer = undefined;
          live = undefined;
          out(`${CLEAR}${mark} ${text}\n`);
        } else plain(text);
      };
      try {
        const value = await fn();
        end('+', `${title}: done (${seconds(now() - start)})`);
        return value;
      } catch (error) {
        end('x', `${title}: failed after ${seconds(now() - start)}`);
        throw error;
      }
    },
  };
}

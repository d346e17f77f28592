import { parseDurationMs } from './duration.js';

export const RESTART_POLICIES = ['prompt', 'coalesce'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** RESTART_POLICY, RESTART_MIN_INTERVAL and RESTART_MAX_DELAY, validated (DESIGN.md §14). */
export interface RestartSettings {
  /** prompt: deploy at the first round gap; coalesce: spend restarts on the weights warm-up wisely. */
  policy: RestartPolicy;
  /** coalesce: a warm validator restarted less than this ago keeps running. */
  minIntervalMs: number;
  /** coalesce: no release waits longer than this. */
  maxDelayMs: number;
}

export const RESTART_DEFAULTS = { RESTART_POLICY: 'prompt', RESTART_MIN_INTERVAL: '24h', RESTART_MAX_DELAY: '24h' } as const;

type RestartKey = keyof typeof RESTART_DEFAULTS;

/** Checks the three keys; every problem goes to `problem` (the config's list, exit 2). */
export function restartSettings(get: (key: RestartKey) => string | undefined, problem: (text: string, key: RestartKey) => void): RestartSettings {
  const raw = get('RESTART_POLICY') ?? RESTART_DEFAULTS.RESTART_POLICY;
  let policy: RestartPolicy = 'prompt';
  if ((RESTART_POLICIES as readonly string[]).includes(raw)) policy = raw as RestartPolicy;
  else problem(`RESTART_POLICY=${raw.length > 40 ? `${raw.slice(0, 40)}...` : raw} must be prompt (deploy at the first round gap) or coalesce (hold a release while the validator sets weights; README, "The weights warm-up").`, 'RESTART_POLICY');
  const span = (key: 'RESTART_MIN_INTERVAL' | 'RESTART_MAX_DELAY'): number => {
    const text = get(key) ?? RESTART_DEFAULTS[key];
    const ms = parseDurationMs(text);
    if (ms === undefined || ms <= 0) {
      problem(`${key}=${text.length > 40 ? `${text.slice(0, 40)}...` : text} is not a time span; use systemd syntax such as 12h, 1d, 90m.`, key);
      return 0;
    }
    return ms;
  };
  return { policy, minIntervalMs: span('RESTART_MIN_INTERVAL'), maxDelayMs: span('RESTART_MAX_DELAY') };
}

/** Kept in the state file while a release waits (cleared once HEAD moves). */
export interface RestartWait {
  /** HEAD while waiting: a wait belongs to the deployed commit it holds back from. */
  head: string;
  /** When a release first waited on this HEAD (ISO): RESTART_MAX_DELAY counts from it. */
  since: string;
  /** The release waiting now. */
  sha: string;
  /** When it goes at the latest (ISO). */
  until: string;
  /** Why it waits, as the log says it. */
  detail: string;
  /** The release the webhook was told about (told once per release). */
  notified?: string;
}

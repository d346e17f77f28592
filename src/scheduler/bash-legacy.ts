import path from 'node:path';

/**
 * Recognising what the AlphaCore repo's bash scripts installed (DESIGN.md §6,
 * "Migration from the bash scripts"), so that launch and `autoupdate enable` can
 * replace it instead of running beside it. Pure: text in, facts out.
 *
 * `ensure_autoupdate_timer.sh` installs either a crontab line
 *   `*\/N * * * * cd <repo> && /bin/bash <repo>/scripts/validator/process/autoupdate_release.sh --config <cfg> >> <repo>/logs/autoupdate/<ns>.log 2>&1`
 * or the template units `alphacore-autoupdate@.service/.timer` (our names) with one
 * config baked into the service's ExecStart, instance = the PM2 namespace.
 * The bash script never quotes these paths, so they hold no blanks: a word is a
 * run of non-blanks.
 */
export const BASH_UPDATER = 'scripts/validator/process/autoupdate_release.sh';

/** A relative --config was relative to the clone the script ran in (`cd <repo>`, WorkingDirectory=). */
function inRepo(config: string, repo: string | undefined): string {
  return repo && !path.isAbsolute(config) ? path.join(repo, config) : config;
}

export interface BashCronLine {
  /** The crontab line as it stands. */
  line: string;
  /** `--config` of the line. */
  config: string;
  /** The clone it runs in (`cd <repo> &&`). */
  repo?: string;
  /** The namespace in its log file name (`logs/autoupdate/<ns>.log`). */
  logNamespace?: string;
  /** `*\/N * * * *` -> N minutes. */
  minutes?: number;
}

export function parseBashCronLine(line: string): BashCronLine | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith('#') || !trimmed.includes(BASH_UPDATER)) return undefined;
  let config = /\s--config\s+(\S+)/.exec(trimmed)?.[1];
  if (!config) return undefined;
  const repo = /(?:^|\s)cd\s+(\S+)\s+&&/.exec(trimmed)?.[1];
  config = inRepo(config, repo);
  const logNamespace = /\/logs\/autoupdate\/([^/\s]+)\.log(?:\s|$)/.exec(trimmed)?.[1];
  const every = /^\*\/(\d+)\s+\*\s+\*\s+\*\s+\*\s/.exec(trimmed)?.[1];
  return { line, config, repo, logNamespace, minutes: every === undefined ? undefined : Number(every) };
}

/** Every bash updater line of a crontab, in order. */
export function bashCronLines(crontab: string): BashCronLine[] {
  return crontab.split('\n').flatMap((line) => parseBashCronLine(line) ?? []);
}

/** The crontab without the given lines (wherever they stand); every other line byte for byte. */
export function withoutLines(crontab: string, lines: readonly string[]): string {
  const drop = new Set(lines.filter((l) => l !== ''));
  return crontab
    .split('\n')
    .filter((line) => !drop.has(line))
    .join('\n');
}

export interface BashServiceUnit {
  /** The one config baked into the shared template. */
  config: string;
  /** WorkingDirectory=, the clone the script lives in. */
  repo?: string;
}

/** The bash version of `alphacore-autoupdate@.service`, or undefined when the text is not it (ours, say). */
export function parseBashService(text: string): BashServiceUnit | undefined {
  if (text.includes('Installed by alphacore-launcher')) return undefined;
  const exec = /^ExecStart=(.*)$/m.exec(text)?.[1];
  if (!exec || !exec.includes(BASH_UPDATER)) return undefined;
  const config = /\s--config\s+([^\s']+)/.exec(exec)?.[1];
  if (!config) return undefined;
  const repo = /^WorkingDirectory=(\S+)\s*$/m.exec(text)?.[1];
  return { config: inRepo(config, repo), repo };
}

/** The interval of the bash timer template (`OnUnitActiveSec=2m`). */
export function bashTimerInterval(text: string): string | undefined {
  return /^OnUnitActiveSec=(\S+)\s*$/m.exec(text)?.[1];
}

/**
 * Whether a bash updater with this config serves `namespace`: the same config
 * file as ours, or a config whose PM2_NAMESPACE (alphacore when absent) is this
 * namespace; a config that cannot be read is judged by its log name or instance.
 */
export function servesNamespace(
  updater: { config: string; fallbackNamespace?: string },
  target: { namespace: string; configFile: string },
  namespaceOfConfig: (file: string) => string | undefined,
): boolean {
  if (updater.config === target.configFile) return true;
  const ns = namespaceOfConfig(updater.config) ?? updater.fallbackNamespace;
  return ns === target.namespace;
}

import { pm2StartArgs } from '../../adapters/pm2.js';
import { scanEnvFile, shellQuote } from '../../core/envfile.js';
import { maskSecrets, secretValues } from '../../core/secrets.js';
import type { SchedulerReport } from '../../scheduler/index.js';
import type { LaunchPlan, PlannedFile } from './plan.js';
import type { VenvState } from './venv.js';
import { venvHowTo } from './venv.js';

/** What --dry-run observed beyond the plan. */
export interface DryRunFacts {
  venv: VenvState;
  pm2: { ok: boolean; detail: string };
  /** Current content of each planned file (undefined: does not exist). */
  current: (file: string) => string | undefined;
  /** The scheduler's own dry-run report, or why it could not be produced. */
  scheduler?: SchedulerReport | { error: string };
  /** --no-autoupdate: what it leaves (a timer an earlier launch installed stays). */
  noAutoupdate?: string;
  /** Secrets of the environment (OPENAI_API_KEY, GOOGLE_OAUTH_ACCESS_TOKEN, ...), masked like the plan's. */
  envSecrets?: string[];
  /** What the real run would do or warn about after the plan (log rotation, the sandbox's sudo rule). */
  notes?: string[];
}

/**
 * Every secret the dry run could print: the plan's own (the OpenAI key), every value of a
 * secret-named key in the files it shows (NOTIFY_WEBHOOK_URL kept from the operator's
 * config, any *_TOKEN or *_KEY), credentials in any URL, and the environment's.
 */
export function dryRunSecrets(plan: LaunchPlan, facts: Pick<DryRunFacts, 'envSecrets'>): string[] {
  const pairs: [string, string][] = Object.entries(plan.pm2App.env);
  for (const file of [plan.envFile, plan.autoupdateConfig]) {
    if (file) for (const e of scanEnvFile(file.content, { source: file.path }).entries) pairs.push([e.key, e.value]);
  }
  return [...plan.secrets, ...secretValues(pairs), ...(facts.envSecrets ?? [])];
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

function fileSection(title: string, file: PlannedFile, facts: DryRunFacts): string {
  const current = facts.current(file.path);
  const state = current === undefined ? 'would create' : current === file.content ? 'unchanged' : 'would update';
  return `${title}: ${file.path} (mode 0${file.mode.toString(8)}, folder 0${file.dirMode.toString(8)}) [${state}]\n${indent(file.content)}\n`;
}

/** The plan as the operator reads it: every path, file content (secrets masked), the PM2 command. */
export function renderDryRun(plan: LaunchPlan, facts: DryRunFacts): string {
  const o = plan.options;
  const app = plan.pm2App;
  const out: string[] = ['alphacore launch --dry-run: nothing is written, started or installed.', ''];
  out.push(`Deploy clone: ${o.repoDir}`);
  out.push(`PM2 namespace: ${o.namespace}   process: ${o.processName}`);
  if (facts.venv.kind === 'present') out.push(`Validator venv: ${o.venvDir} (present)`);
  else if (facts.venv.kind === 'incomplete') out.push(`Validator venv: ${o.venvDir} (left incomplete by an earlier launch; would finish it: pip install -r modules/requirements.txt)`);
  else if (facts.venv.kind === 'create') out.push(`Validator venv: ${o.venvDir} (missing; would create it with ${facts.venv.python} -m venv and pip install -r modules/requirements.txt)`);
  else out.push(`Validator venv: ${o.venvDir} (missing, and ${facts.venv.reason}: launch would stop here). ${venvHowTo(o.venvDir, o.repoDir)}`);
  out.push(`PM2: ${facts.pm2.ok ? facts.pm2.detail : `NOT USABLE: ${facts.pm2.detail} (launch would stop here)`}`);
  if (plan.register) out.push(`Register first: btcli ${plan.register.map(shellQuote).join(' ')}`);
  out.push('');
  out.push(fileSection('Validator env file', plan.envFile, facts));
  const envAssignments = Object.entries(app.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  out.push(`PM2 app (replaces a process of the same name in this namespace only; ${app.ecosystem ? 'through the repo\'s ecosystem file' : 'no ecosystem file in the clone: the wrapper directly, same policy'}):`);
  out.push(`    ${envAssignments.join(' ')} \\`);
  out.push(`    pm2 ${pm2StartArgs(app).map(shellQuote).join(' ')}`);
  if (plan.health) out.push(`    wait until online with no restart for ${Math.round(plan.health.stableMs / 1000)}s (at most ${Math.round(plan.health.timeoutMs / 1000)}s), then pm2 save`);
  else out.push('    pm2 save');
  out.push(`    logs: pm2 logs ${shellQuote(app.name)}`);
  out.push('');
  if (plan.autoupdateConfig) out.push(fileSection('Auto-update config', plan.autoupdateConfig, facts));
  if (!plan.scheduler) out.push(`Scheduler: none installed by this run (--no-autoupdate).${facts.noAutoupdate ? ` ${facts.noAutoupdate}` : ''}`);
  else if (facts.scheduler && 'lines' in facts.scheduler) {
    out.push(`Scheduler (${facts.scheduler.kind}, every ${plan.scheduler.interval}):`);
    for (const line of facts.scheduler.lines) out.push(`    ${line}`);
  } else {
    out.push(`Scheduler: every ${plan.scheduler.interval} for ${plan.scheduler.configFile}; cannot show it: ${facts.scheduler?.error ?? 'unknown'}`);
  }
  if (facts.notes?.length) out.push('', ...facts.notes);
  return `${maskSecrets(out.join('\n'), dryRunSecrets(plan, facts))}\n`;
}

import path from 'node:path';
import type { AutoupdateConfig } from '../../core/config.js';
import { joinWords } from '../../core/envfile.js';
import type { Journal } from '../../core/state.js';
import { apiPort } from '../../domain/health.js';
import { STEP_MS } from './budget.js';
import { apiCommand, SCRIPTS, type DeployPlan } from './deploy-plan.js';
import type { VenvKind } from './venv-names.js';

/**
 * The plan of a swap or a recovery as one typed value: what `--dry-run` prints and what
 * the real run executes, step by step (apply.ts, deploy.ts iterate over these steps and
 * announce each as it runs: `{"event":"step",...}`). decide.ts builds it from facts.
 */

/** The venvs one side of a swap runs with (§5.4); undefined: the config's own (bash-era) ones. */
export interface SwapVenvs {
  validator?: string;
  api?: string;
}

/** A venv the target (`to`) or its rollback (`from`) needs, built before the stop or reused. */
export interface VenvStep {
  step: 'venv';
  side: 'to' | 'from';
  kind: VenvKind;
  commit: string;
  dir: string;
  action: 'prepare' | 'reuse';
}

/** The namespace's processes, and only those (other PM2 processes keep running). */
export interface StopStep {
  step: 'stop';
  namespace: string;
  /** As PM2 listed them when the plan was made; undefined when it could not be asked. */
  processes: string[] | undefined;
}

export type DeployStep =
  | { step: 'reset'; commit: string }
  /** Steps 12: argv run in the clone (sudo for the sandbox, the validator venv's pip). */
  | { step: 'sandbox'; argv: string[]; timeoutMs: number }
  | { step: 'deps'; argv: string[]; timeoutMs: number }
  /**
   * The repo's API launch script, then a wait until `process` is online, the socket on
   * `port` is its own (or a child's), and `waitFor` (/health) answers 200 (§5.6).
   */
  | { step: 'api'; argv: string[]; timeoutMs: number; process: string; port: number; waitFor: string; healthTimeoutMs: number }
  /** The launch code with the config's typed options (built at load), the venv and the env below. */
  | { step: 'validator'; process: string; namespace: string; venvDir?: string; env: Record<string, string> }
  /** The validator, and the Validation API (`api`) when the deploy starts it, online with no restart for `stableMs`. */
  | { step: 'health'; process: string; namespace: string; stableMs: number; timeoutMs: number; api?: ApiWatch };

/** The Validation API as the health checks watch it (§5.6): its PM2 process and the port that must be its own. */
export interface ApiWatch {
  process: string;
  port: number;
}

/** Steps 11-13 for one commit. */
export interface DeployTarget {
  commit: string;
  venvs: SwapVenvs;
  steps: DeployStep[];
}

export interface SwapSteps {
  venvs: VenvStep[];
  stop: StopStep;
  forward: DeployTarget;
  /** Armed before the stop: what a failure of `forward` runs. */
  rollback: DeployTarget;
}

/**
 * The validator venv of a side without a prepared one (its commit has no requirements
 * file, a journal from before §5.4): the config's VALIDATOR_VENV_DIR, else launch's
 * default; `override` only when that folder is gone and the state records a complete
 * prepared one (observe.ts), which the relaunch then gets.
 */
export interface FallbackVenv {
  dir: string;
  override?: string;
}

/** The steps that bring the namespace up at `commit` with `venvs` (the forward swap and the rollback alike). */
export function deployTarget(config: AutoupdateConfig, commit: string, deploy: DeployPlan, venvs: SwapVenvs, fallback: FallbackVenv): DeployTarget {
  const steps: DeployStep[] = [{ step: 'reset', commit }];
  if (deploy.sandbox) steps.push({ step: 'sandbox', argv: ['sudo', '-n', 'bash', path.join(config.repoDir, SCRIPTS.sandbox)], timeoutMs: STEP_MS.sandbox });
  // With a prepared validator venv the refresh already happened before the stop.
  if (deploy.deps && !venvs.validator) {
    steps.push({ step: 'deps', argv: [path.join(fallback.dir, 'bin', 'pip'), 'install', '--disable-pip-version-check', '-r', path.join(config.repoDir, SCRIPTS.requirements)], timeoutMs: STEP_MS.pipInstall });
  }
  const api: ApiWatch | undefined = deploy.api ? { process: config.validationProcessName, port: apiPort(config.given.validationHttpPort, config.validationApiEndpoint) } : undefined;
  if (api) {
    const { file, args } = apiCommand(config, venvs.api);
    steps.push({ step: 'api', argv: [file, ...args], timeoutMs: STEP_MS.apiScript, ...api, waitFor: `${config.validationApiEndpoint}/health`, healthTimeoutMs: config.healthTimeoutMs });
  }
  const venvDir = venvs.validator ?? fallback.override;
  steps.push({
    step: 'validator',
    process: config.validatorProcessName,
    namespace: config.namespace,
    ...(venvDir ? { venvDir } : {}),
    env: venvs.api || venvs.validator ? { PIP_NO_INDEX: '1' } : {},
  });
  steps.push({ step: 'health', process: config.validatorProcessName, namespace: config.namespace, stableMs: config.healthStableMs, timeoutMs: config.healthTimeoutMs, ...(api ? { api } : {}) });
  return { commit, venvs, steps };
}

/** The recovery of an interrupted swap: finish it by a health check when it got that far, else roll back. */
export interface RecoverSteps {
  journal: Journal;
  /** Set when the killed run was in its health check at the target: check again before rolling back. */
  finish?: Extract<DeployStep, { step: 'health' }>;
  rollback: DeployTarget;
}

const short = (sha: string) => sha.slice(0, 7);
const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

/** One line per step, as the human output shows it. */
export function describeStep(step: VenvStep | StopStep | DeployStep): string {
  switch (step.step) {
    case 'venv':
      return `${step.action === 'reuse' ? 'reuse' : 'prepare'} the ${step.kind} venv ${step.dir} (${step.side === 'to' ? 'target' : 'rollback'} ${short(step.commit)})`;
    case 'stop':
      return `stop namespace ${step.namespace}: ${step.processes === undefined ? 'its processes (PM2 was not asked)' : step.processes.length > 0 ? step.processes.join(', ') : 'no process runs in it'}`;
    case 'reset':
      return `git reset --hard ${step.commit}`;
    case 'sandbox':
    case 'deps':
      return `${step.step === 'sandbox' ? 'sandbox setup' : 'dependency refresh'}: ${joinWords(step.argv)}`;
    case 'api':
      return `start the Validation API: ${joinWords(step.argv)}; wait for ${step.process} to own port ${step.port} and ${step.waitFor} to answer 200 (up to ${seconds(step.healthTimeoutMs)})`;
    case 'validator':
      return `relaunch ${step.process} (namespace ${step.namespace}${step.venvDir ? `, venv ${step.venvDir}` : ''}${Object.keys(step.env).length ? `, ${Object.entries(step.env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''})`;
    case 'health':
      return `health: ${step.api ? `${step.process} and ${step.api.process}` : step.process} online with no restart for ${seconds(step.stableMs)}${step.api ? `, ${step.api.process} still on port ${step.api.port} and answering` : ''} (up to ${seconds(step.timeoutMs)})`;
  }
}

/** The plan's human lines (the JSON form is the value itself). */
export function describeSteps(plan: { kind: 'swap'; from: string; to: string; steps: SwapSteps } | { kind: 'recover'; steps: RecoverSteps }): string[] {
  if (plan.kind === 'swap') {
    const s = plan.steps;
    return [
      `plan: update ${short(plan.from)} -> ${short(plan.to)}`,
      ...s.venvs.map((v) => `  before the stop: ${describeStep(v)}`),
      `  ${describeStep(s.stop)}`,
      ...s.forward.steps.map((d) => `  ${describeStep(d)}`),
      `  on a failure: roll back to ${short(plan.from)}: ${s.rollback.steps.map((d) => d.step).join(', ')}`,
    ];
  }
  const { journal, finish, rollback } = plan.steps;
  return [
    `plan: recover the update ${short(journal.from)} -> ${short(journal.to)} (interrupted in phase ${journal.phase}${journal.rollingBack ? ' of its rollback' : ''}${journal.rollbackFailed ? ', its rollback failed' : ''})`,
    ...(finish ? [`  first, ${describeStep(finish)}: healthy finishes the update`] : []),
    `  ${finish ? 'otherwise roll' : 'roll'} back to ${short(journal.from)} (the namespace's processes stopped first):`,
    ...rollback.steps.map((d) => `  ${describeStep(d)}`),
  ];
}

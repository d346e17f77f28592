import path from 'node:path';
import { localApiPort, type AutoupdateConfig, type RefreshMode } from '../../core/config.js';

/** Paths in the AlphaCore repository that the cycle drives (DESIGN.md §4-5). */
export const SCRIPTS = {
  validator: 'scripts/validator/process/start_validator_pm2.sh',
  api: 'scripts/validator/process/launch_validation_api.sh',
  sandbox: 'modules/evaluation/validation/sandbox/setup.sh',
  requirements: 'modules/requirements.txt',
} as const;

/** What each optional step depends on: under `auto` it runs only when one of these changed. */
export const SANDBOX_INPUTS = ['modules/evaluation/validation/sandbox/'];
export const DEPS_INPUTS = [SCRIPTS.requirements];

export interface DeployPlan {
  sandbox: boolean;
  deps: boolean;
  /** false when the validator runs with --disable-validation-api. */
  api: boolean;
}

function touches(changed: readonly string[], inputs: readonly string[]): boolean {
  return changed.some((file) => inputs.some((input) => (input.endsWith('/') ? file.startsWith(input) : file === input)));
}

export function shouldRun(mode: RefreshMode, changed: readonly string[], inputs: readonly string[]): boolean {
  return mode === 'always' || (mode === 'auto' && touches(changed, inputs));
}

/**
 * Which steps a deploy of one commit runs. The same plan serves the rollback: the
 * files that differ between the two commits are the same in both directions.
 */
export function planDeploy(config: AutoupdateConfig, changed: readonly string[]): DeployPlan {
  return {
    sandbox: shouldRun(config.sandboxSetup, changed, SANDBOX_INPUTS),
    deps: shouldRun(config.depsRefresh, changed, DEPS_INPUTS),
    api: !apiDisabled(config),
  };
}

export function apiDisabled(config: AutoupdateConfig): boolean {
  return config.validatorExtraArgs.includes('--disable-validation-api');
}

/** The repo's Validation API launch script and its arguments (step 13); `venvDir`: a prepared venv (§5.4). */
export function apiCommand(config: AutoupdateConfig, venvDir?: string): { file: string; args: string[] } {
  const g = config.given;
  const args = ['--pm2-namespace', config.namespace];
  const optional: [string, string | undefined][] = [
    ['--gcp-creds-file', config.gcpCredsFile],
    ['--process-name', g.validationProcessName],
    ['--env-out', g.validationEnvFile],
    ['--venv-dir', venvDir ?? g.validationVenvDir],
    ['--bind-host', g.validationHttpHost],
    // The endpoint the health check polls names the port when the file does not (an API
    // started with the repo script's --port 18711 and launch --validation-api-endpoint
    // http://127.0.0.1:18711 came back on 8888 and the update could only fail).
    ['--port', g.validationHttpPort || localApiPort(config.validationApiEndpoint)],
  ];
  for (const [flag, value] of optional) if (value) args.push(flag, value);
  return { file: 'bash', args: [path.join(config.repoDir, SCRIPTS.api), ...args, ...config.validationApiExtraArgs] };
}

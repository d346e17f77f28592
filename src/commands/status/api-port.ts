import { describeHolder, portHolder } from '../../adapters/proc-net.js';
import { apiPort } from '../../domain/health.js';
import type { ConfigView } from './config-view.js';
import type { ApiView, Pm2View } from './report.js';

/**
 * The API row says when the API's port is held by a process outside the API's PM2
 * process tree (the update's own check, §5.6): a stranger or an orphan answering there
 * is not our Validation API, however healthy its answers look.
 */
export function withPortHolder(api: ApiView, view: Pick<ConfigView, 'apiEndpoint' | 'apiHttpPort' | 'validationProcessName'>, pm2: Pm2View): ApiView {
  // Without PM2's answer there is no tree to compare with; a remote endpoint's API is not on this machine.
  if (pm2.state === 'unknown' || (!view.apiHttpPort && !isLocal(view.apiEndpoint))) return api;
  const proc = pm2.processes.find((p) => p.name === view.validationProcessName && p.status === 'online');
  const holder = portHolder(apiPort(view.apiHttpPort, view.apiEndpoint), proc?.pid);
  if (holder.kind !== 'other') return api;
  const ours = proc ? `, not by ${view.validationProcessName} (pid ${proc.pid})` : '';
  return { ...api, portTakenBy: `${describeHolder(holder)}${ours}` };
}

function isLocal(endpoint: string): boolean {
  try {
    return ['127.0.0.1', 'localhost', '[::1]', '0.0.0.0'].includes(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

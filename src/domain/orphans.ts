import { daemonPid, pm2Home } from '../adapters/pm2-home.js';
import { endProcesses, findOrphans, running, type NamespaceProcess } from '../adapters/pm2-orphans.js';
import type { Context } from '../core/context.js';

/** The PM2 daemon of the context's home, when one is alive (a killed daemon left as a zombie is not). */
export function liveDaemonPid(ctx: Pick<Context, 'env' | 'paths'>): number | undefined {
  const pid = daemonPid(pm2Home(ctx));
  return pid !== undefined && running(pid) ? pid : undefined;
}

/** The namespace's processes that no live PM2 daemon supervises (see findOrphans). */
export function namespaceOrphans(ctx: Pick<Context, 'env' | 'paths'>, namespace: string): NamespaceProcess[] {
  return findOrphans(pm2Home(ctx), namespace, liveDaemonPid(ctx));
}

/**
 * Ends the namespace's orphans by pid before anything of the namespace starts: two
 * validators of one hotkey must never run at once, and a stale API must not keep the
 * port (DESIGN.md §5.5). Returns what it said, one line each; throws when one survived
 * SIGKILL (starting beside it is what this prevents).
 */
export async function endNamespaceOrphans(ctx: Context, namespace: string, say: (line: string) => void): Promise<NamespaceProcess[]> {
  const orphans = namespaceOrphans(ctx, namespace);
  if (orphans.length === 0) return [];
  say(`ending ${orphans.length} process(es) of namespace ${namespace} that no PM2 daemon supervises (left by a daemon that died): ${orphans.map((o) => `${o.name} pid ${o.pid}`).join(', ')}`);
  const left = await endProcesses(orphans.map((o) => o.pid), () => ctx.now().getTime());
  if (left.length > 0) throw new Error(`process(es) ${left.join(', ')} of namespace ${namespace} survived SIGKILL; not starting a second copy beside them`);
  return orphans;
}

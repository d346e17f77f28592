import type { Interrupts } from '../../adapters/interrupts.js';
import type { UpdateLog } from '../../core/log.js';
import type { UpdateState } from '../../core/state.js';

/**
 * What the run says when a signal arrives (adapters/interrupts.ts decides what it does):
 * before the first stop the run ends, naming the programs it ended; after it, the run
 * says which step it finishes and what comes next.
 */
export function sayInterrupts(interrupts: Interrupts | undefined, log: UpdateLog, state: UpdateState): void {
  interrupts?.onSignal((signal, effect) => {
    if (effect.kind === 'ended') {
      const ended = effect.children.map((c) => `${c.command} (pid ${c.pid})`).join(', ');
      log.error(`interrupted by ${signal} before anything was stopped${ended ? `; ended ${ended}` : ''}; the services keep running as they were`);
      log.event({ event: 'result', outcome: 'failed', reason: 'interrupted', from: null, to: null });
      return;
    }
    const journal = state.journal;
    if (!journal) log.warn(`received ${signal}: finishing the run (the services are not being changed any more)`);
    else if (journal.rollingBack) log.warn(`received ${signal} during the rollback: finishing it (a signal never leaves the namespace stopped)`);
    else log.warn(`received ${signal} while the services are being changed: finishing the step in progress (${journal.phase}), then rolling back to ${journal.from.slice(0, 7)}`);
  });
}

/**
 * Everything the update cycle loads only once it has something to do (a signature
 * check, a swap, a recovery, an invalid config's metric), behind one dynamic import:
 * one lazy chunk in the timer's bundle rather than five, each of which esbuild would
 * otherwise share a different slice of the no-op run's own code with
 * (scripts/build-timer.mjs keeps that code in one chunk whatever the lazy chunks are).
 */
export { countConfigErrorRun } from '../../domain/metrics-config-error.js';
export { applyPlan } from './apply.js';
export { checkSignatures } from '../../domain/signatures.js';

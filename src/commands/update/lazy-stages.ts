/**
 * Everything the update cycle loads only once it has something to do (a signature
 * check, a swap, a recovery, an invalid config's metric), behind ONE dynamic import.
 * Why one: the timer's bundle (scripts/build-timer.mjs) splits code by which dynamic
 * imports reach it, and five separate ones cut the no-op run's own code into sixteen
 * files, each costing the ESM loader a resolve, a read and a link on every timer run
 * (issue 11). With one, the no-op run reads two.
 */
export { countConfigErrorRun } from '../metrics/config-error.js';
export { prepareAndSwap } from './apply.js';
export { recoverInterrupted } from './recover.js';
export { openSession } from './session.js';
export { checkSignatures } from './signatures.js';

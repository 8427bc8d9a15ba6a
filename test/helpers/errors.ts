// The typed error a call throws, for tests that check its code and words.
import { type BurstcapError, isBurstcapError } from '../../src/main/core/errors';

/** The BurstcapError `run` throws; anything else, or nothing, fails the test. */
export function rejected(run: () => unknown): BurstcapError {
  try {
    run();
  } catch (err) {
    if (isBurstcapError(err)) return err;
    throw new Error(`expected a BurstcapError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a BurstcapError, nothing was thrown');
}

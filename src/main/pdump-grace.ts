/**
 * DPDK 22.11's rte_pdump_disable() returns before callbacks already running
 * in the primary have finished with the ring and pool: wait this long before
 * draining or freeing them.
 */
const CALLBACK_GRACE_MS = 50;

export function callbacksSettled(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, CALLBACK_GRACE_MS));
}

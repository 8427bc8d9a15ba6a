/**
 * Stopping the primary's pdump callbacks, and the one rule that decides
 * whether the rings and pools they fed may be freed: only after the primary
 * answered every disable request and each of its threads was seen outside
 * the callbacks. Anything short of that leaves them in place; a leaked ring
 * can be cleaned later, a primary that writes into freed memory crashes.
 * Capture sessions and cleanup both stop callbacks through here.
 */
import { callbacksSettled, describeStopped } from './pdump-grace';
import { native, type CallbackRef, type DisableResult } from '../core/native';
import { primaryStillAlive } from '../primary/runtime-dir';

const GIVE_UP_POLL_MS = 50;
/**
 * A second Ctrl-C stops the wait for answers only once they are this late.
 * A running primary answers each disable within milliseconds (median 1-4 ms,
 * at most 30 ms measured with both CPUs loaded); one that has not answered
 * in a second is not reading its socket. Cutting the wait any sooner would
 * keep rings in place that a second Ctrl-C a few ms after the first could
 * just as well have freed.
 */
const GIVE_UP_AFTER_MS = 1_000;

export interface StopVerdict {
  /** Nothing of the primary's can still write into what the callbacks fed. */
  safe: boolean;
  /** Why it is not safe, in one clause. */
  reason: string | undefined;
  results: DisableResult[];
  /** Time until the primary answered every request, and until its threads were seen leaving. */
  answerMs: number;
  settleMs: number;
}

export function describeCallback(c: CallbackRef): string {
  return `port ${c.port} queue ${c.queue} ${c.direction === 1 ? 'rx' : 'tx'}`;
}

function listOf(refs: readonly CallbackRef[]): string {
  const shown = refs.slice(0, 4).map(describeCallback).join(', ');
  return refs.length > 4 ? `${shown} and ${refs.length - 4} more` : shown;
}

/** Resolves to undefined once `giveUp()` is true and the answers are late; never otherwise. */
function whenGivenUp(giveUp: (() => boolean) | undefined, done: { value: boolean }): Promise<undefined> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (!giveUp) return;
    const timer = setInterval(() => {
      if (done.value) clearInterval(timer);
      else if (giveUp() && Date.now() - started >= GIVE_UP_AFTER_MS) {
        clearInterval(timer);
        resolve(undefined);
      }
    }, GIVE_UP_POLL_MS);
  });
}

/**
 * Disables `refs` (all requests at once) and waits for the primary's threads.
 * `giveUp` (a second Ctrl-C) may cut the waiting short; the verdict is then
 * "not safe", never "safe".
 */
export async function stopCallbacks(
  refs: readonly CallbackRef[],
  primary: { prefix: string; pid: number },
  options: { giveUp?: () => boolean } = {},
): Promise<StopVerdict> {
  const started = Date.now();
  const verdict = (safe: boolean, reason: string | undefined, results: DisableResult[], answerMs: number): StopVerdict => ({
    safe,
    reason,
    results,
    answerMs,
    settleMs: Date.now() - started - answerMs,
  });
  // A dead primary's callbacks died with it.
  if (refs.length === 0 || !primaryStillAlive(primary.prefix, primary.pid)) return verdict(true, undefined, [], 0);
  const done = { value: false };
  const results = await Promise.race([native.pdumpDisable(refs), whenGivenUp(options.giveUp, done)]);
  done.value = true;
  const answerMs = Date.now() - started;
  if (results === undefined) {
    native.pdumpHurry();
    return verdict(false, `burstcap stopped waiting for the primary to answer the request to stop capturing ${listOf(refs)}`, [], answerMs);
  }
  if (!primaryStillAlive(primary.prefix, primary.pid)) return verdict(true, undefined, results, answerMs);
  const unanswered = results.filter((r) => !r.answered);
  if (unanswered.length > 0) {
    const stopped = describeStopped(primary.pid);
    const why = stopped ? `it is ${stopped}` : `${unanswered[0]!.message}, after ${(answerMs / 1000).toFixed(1)} s`;
    return verdict(false, `the primary did not answer the request to stop capturing ${listOf(unanswered)} (${why})`, results, answerMs);
  }
  // Not cut short by giveUp: it is bounded, and takes milliseconds from a running primary.
  const settled = await callbacksSettled(primary.pid);
  if (!settled.settled) {
    return verdict(
      false,
      `the primary removed the callbacks of ${listOf(refs)}, but its thread(s) ${settled.holdouts.join(', ')} were not seen leaving them within ${settled.waitedMs} ms`,
      results,
      answerMs,
    );
  }
  return verdict(true, undefined, results, answerMs);
}

/**
 * The control block each drain worker shares with the main thread: one
 * BigInt64Array over a SharedArrayBuffer. Slots 0-9 and 12-14 are written by
 * the native loop (native/src/drain.cc has the same list); 10-11 by the
 * worker's JS.
 */
export const enum Slot {
  Control = 0,
  Packets = 1,
  Bytes = 2,
  WireBytes = 3,
  Bursts = 4,
  Errno = 5,
  Malformed = 6,
  OverQuota = 7,
  Queued = 8,
  /** Set by the native loop once its output is open and it polls the ring. */
  Polling = 9,
  Tid = 10,
  Cpu = 11,
  /** Files the ring closed so far (rotation). */
  FilesClosed = 12,
  /** Size of the file being written. */
  FileBytes = 13,
  /** 1 once -a files: is reached: the capture must stop. */
  FilesFull = 14,
}
export const SLOT_COUNT = 16;

export const enum Control {
  Run = 0,
  /** Drain what is queued, then return: the callbacks are already disabled. */
  Finish = 1,
  Abort = 2,
}

export function newControlBlock(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOT_COUNT * BigInt64Array.BYTES_PER_ELEMENT);
}

/** Slots every worker of one capture shares (native/src/drain.cc has the same list). */
export const enum SharedSlot {
  /** Packets left for -c; every worker takes from it; -1 means no limit. */
  Quota = 0,
  /** Correction to the primary's timestamps, decided once on the first copy. */
  ClockOffset = 1,
}
const SHARED_SLOT_COUNT = 2;
const OFFSET_UNDECIDED = -(2n ** 63n);

export function newSharedBlock(count: number | undefined): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(SHARED_SLOT_COUNT * BigInt64Array.BYTES_PER_ELEMENT);
  const slots = new BigInt64Array(sab);
  Atomics.store(slots, SharedSlot.Quota, BigInt(count ?? -1));
  Atomics.store(slots, SharedSlot.ClockOffset, OFFSET_UNDECIDED);
  return sab;
}

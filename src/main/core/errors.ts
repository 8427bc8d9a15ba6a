/**
 * Every failure burstcap reports is a BurstcapError with a stable code.
 * The CLI maps `kind` to the exit status: usage errors exit 2, everything else 1.
 * Native code throws through the same class (see native/errors.h): one error
 * type for the whole program, whichever side noticed the problem.
 */
export type ErrorKind = 'usage' | 'runtime';

export class BurstcapError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** rte_errno or errno of the failing call, when a system call failed. */
  readonly errno: number | undefined;
  /** Last lines DPDK logged before the failure: the evidence behind the message. */
  readonly detail: string | undefined;
  /**
   * Set by a capture that could not wait for a worker thread blocked in its
   * output or for a request to the primary: such a thread keeps Node from
   * exiting, so the process should end with exitNow().
   */
  mustExitNow = false;

  constructor(code: string, message: string, options: { kind?: ErrorKind; errno?: number; detail?: string } = {}) {
    super(message);
    this.name = 'BurstcapError';
    this.code = code;
    this.kind = options.kind ?? 'runtime';
    this.errno = options.errno;
    this.detail = options.detail;
  }

  /** The CLI's exit status for this error: 2 for bad usage (nothing in the primary was touched), 1 otherwise. */
  get exitStatus(): 1 | 2 {
    return this.kind === 'usage' ? 2 : 1;
  }
}

/** Bad command line: exit status 2, nothing touched in the primary. */
export function usageError(code: string, message: string): BurstcapError {
  return new BurstcapError(code, message, { kind: 'usage' });
}

export function runtimeError(code: string, message: string, options: { errno?: number; detail?: string } = {}): BurstcapError {
  return new BurstcapError(code, message, { kind: 'runtime', ...options });
}

export function isBurstcapError(value: unknown): value is BurstcapError {
  return value instanceof BurstcapError;
}

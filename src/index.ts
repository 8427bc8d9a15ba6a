/**
 * burstcap as a library:
 *
 *   const { capture } = require('burstcap');      // or: import { capture } from 'burstcap'
 *   const ac = new AbortController();
 *   setTimeout(() => ac.abort(), 10_000);
 *   const summary = await capture({ filePrefix: 'rte', pdump: ['port=0,queue=*,rx-dev=/tmp/rx.pcap'], signal: ac.signal });
 *
 * One EAL per process: DPDK's EAL can be initialised once in a process, and
 * capture(), listPorts(), cleanup() and doctor() with a filePrefix each
 * initialise it. The second of them in one process rejects with a
 * BurstcapError of code EAL_ALREADY_USED; run each in its own process (a
 * child process, a worker pool of processes).
 *
 * Every rejection is a BurstcapError with a stable `code`, a `kind`
 * ('usage' or 'runtime') and `exitStatus` (2 for usage, 1 otherwise), as the
 * command line exits.
 */
export { capture, cleanup, doctor, exitNow, listPorts, mustExitNow } from './main/api';
export type {
  CaptureEvent,
  CaptureInput,
  CaptureOptions,
  CaptureProgress,
  CaptureResult,
  CaptureStarted,
  Check,
  CleanupResult,
  PortInfo,
  PrimaryOptions,
  RingProgress,
  RingStatus,
  StopReason,
} from './main/api';
export { BurstcapError, isBurstcapError, type ErrorKind } from './main/core/errors';
export type { OutputSummary, PortSummary } from './main/capture/session';
/** One line of `burstcap capture --stats-json`, for programs that read it. */
export type { LiveRecord, LiveRow, LiveTotals } from './main/capture/live-format';

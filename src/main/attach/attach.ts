/**
 * Joining the primary as a secondary process. EAL can be initialised once per
 * process, so everything that can be checked first is checked first.
 */
import { BurstcapError, runtimeError, usageError } from '../core/errors';
import { freeLcoreId, isLcoreOption } from '../primary/lcores';
import { native, type ClockRef, type MempoolOpsAlignment } from '../core/native';
import { checkVersion, inspectPrimary, type PrimaryFacts } from '../primary/inspect';
import { describeStopped } from './pdump-grace';
import { runtimeDir } from '../primary/runtime-dir';

/** How often a fresh process image may retry an attach that hit Node's own mappings. */
const MAX_ATTACH_ATTEMPTS = 8;
const ATTEMPT_ENV = 'BURSTCAP_ATTACH_ATTEMPT';

export interface AttachOptions {
  prefix: string;
  /** CPU for burstcap's main lcore (its control thread). */
  mainCpu: number;
  /** EAL options from the user (the pdump command line); lcore options are replaced. */
  extraEal?: readonly string[];
  verbose?: boolean;
  /** Only the CLI may replace its own process image to retry. */
  allowReexec?: boolean;
  /** Called with warnings that do not stop the capture. */
  warn?: (message: string) => void;
}

export interface Attachment {
  primary: PrimaryFacts;
  lcoreId: number;
  ealArgs: string[];
  mempoolOps: MempoolOpsAlignment;
  clock: ClockRef;
  attempts: number;
}

const PDUMP_INIT_HINT =
  'the primary never called rte_pdump_init(), so it cannot copy packets to a capture tool. ' +
  'Add `rte_pdump_init();` to the application after rte_eal_init() and `rte_pdump_uninit();` before it exits, then restart it';

/** User EAL options minus the ones burstcap must choose itself. */
export function filterUserEal(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (isLcoreOption(a)) {
      if (!a.includes('=') && /^(-l|-c|--lcores|--main-lcore|--master-lcore)$/.test(a)) i++;
      continue;
    }
    if (/^--(proc-type|file-prefix)(=|$)/.test(a)) {
      if (!a.includes('=')) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

export function ealArguments(prefix: string, lcoreId: number, mainCpu: number, extra: readonly string[]): string[] {
  return [
    'burstcap',
    '--proc-type=secondary',
    `--file-prefix=${prefix}`,
    `--lcores=${lcoreId}@${mainCpu}`,
    '--no-telemetry',
    ...filterUserEal(extra),
  ];
}

/**
 * DPDK's EAL can be initialised once per process, and rte_eal_cleanup() does
 * not make it usable again. A second capture, list, cleanup or doctor in the
 * same process is refused here, before anything is asked of the primary.
 */
export function requireUnusedEal(): void {
  const state = native.ealState();
  if (state === 'unused') return;
  throw usageError(
    'EAL_ALREADY_USED',
    `this process already initialised DPDK's EAL (EAL is ${state}) for an earlier capture, listPorts, cleanup or doctor, and EAL can be initialised only once per process: ` +
      'run each capture (and each listPorts, cleanup or doctor with a prefix) in its own process, for example a child process',
  );
}

export function attach(opts: AttachOptions): Attachment {
  requireUnusedEal();
  const primary = inspectPrimary(opts.prefix);
  checkVersion(primary);
  // A stopped primary answers no request, from EAL's own at attach to every
  // enable: say so now rather than after DPDK's timeouts.
  const stopped = describeStopped(primary.pid);
  if (stopped) {
    throw runtimeError(
      'PRIMARY_STOPPED',
      `the primary (pid ${primary.pid}) is ${stopped}: it cannot answer requests. Resume it (kill -CONT ${primary.pid}, or detach the debugger) and try again`,
    );
  }
  const lcoreId = freeLcoreId(primary.lcores);
  const ealArgs = ealArguments(opts.prefix, lcoreId, opts.mainCpu, opts.extraEal ?? []);
  const attempts = Number(process.env[ATTEMPT_ENV] ?? '1');
  try {
    native.attach(ealArgs, opts.verbose ?? false);
  } catch (err) {
    if (err instanceof BurstcapError && err.code === 'EAL_ADDRESS_CONFLICT') {
      if (opts.allowReexec && attempts < MAX_ATTACH_ATTEMPTS) {
        process.env[ATTEMPT_ENV] = String(attempts + 1);
        native.reexec(runtimeDir(opts.prefix));
      }
      throw runtimeError(
        'EAL_ADDRESS_CONFLICT',
        `could not map the primary's memory after ${attempts} attempt(s): this process already uses those addresses. ` +
          'Start the primary with --base-virtaddr set to a free high address (e.g. 0x7000000000) and try again',
        { detail: err.detail },
      );
    }
    throw err;
  }
  delete process.env[ATTEMPT_ENV];
  if (!native.pdumpReady()) throw runtimeError('PDUMP_NOT_INITIALISED', PDUMP_INIT_HINT);
  let mempoolOps: MempoolOpsAlignment;
  try {
    mempoolOps = native.alignMempoolOps(primary.pid);
  } catch (err) {
    // An ops index that means another driver here makes every copy go to
    // the wrong pool code, in the primary as in this process: never guess.
    native.detach();
    throw runtimeError(
      'MEMPOOL_OPS_UNVERIFIED',
      `cannot check that the primary and burstcap agree on the mempool ops order (${(err as Error).message}); ` +
        "run burstcap as root or as the user that runs the primary, so that it can read the primary's memory",
      { detail: err instanceof BurstcapError ? err.detail : undefined },
    );
  }
  return { primary, lcoreId, ealArgs, mempoolOps, clock: native.clockRef(), attempts };
}

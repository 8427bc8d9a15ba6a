/** The primary's ports as a secondary sees them, for the library's listPorts() and `burstcap list`. */
import { native, type PortInfo } from '../core/native';
import { primaryPorts, probeFailures } from '../primary/inspect';
import { attach } from './attach';

export interface PortsQuery {
  prefix: string;
  verbose?: boolean | undefined;
  extraEal?: readonly string[] | undefined;
  allowReexec: boolean;
}

/** The primary's ports as this process sees them as a secondary; uses this process's one EAL. */
export function listPrimaryPorts(q: PortsQuery): PortInfo[] {
  const allowed = native.threadInfo().cpus;
  attach({ prefix: q.prefix, mainCpu: allowed[0] ?? 0, verbose: q.verbose, allowReexec: q.allowReexec, extraEal: q.extraEal ?? [] });
  try {
    return primaryPorts(q.prefix, native.listPorts(), probeFailures(native.ealLog(200))).ports;
  } finally {
    native.detach();
  }
}

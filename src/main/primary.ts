/**
 * What burstcap learns about a primary before touching it: that it is alive,
 * its DPDK version and its lcores (from its telemetry socket, which needs no
 * EAL). Every check here runs before anything is created in the primary.
 */
import fs from 'node:fs';
import os from 'node:os';
import { runtimeError } from './errors';
import { primaryLcores, type LcoreMap } from './lcores';
import { native } from './native';
import { primaryPid, runningPrimaries, runtimeDir, telemetrySocket } from './runtime-dir';

export interface PrimaryFacts {
  prefix: string;
  pid: number;
  /** e.g. "DPDK 22.11.11"; undefined when the primary runs without telemetry. */
  version: string | undefined;
  ealArgs: string[] | undefined;
  lcores: LcoreMap;
}

function describeRunning(): string {
  const running = runningPrimaries();
  if (running.length === 0) return 'no DPDK primary is running on this machine';
  return `running primaries: ${running.map((p) => `--file-prefix ${p.prefix} (pid ${p.pid})`).join(', ')}`;
}

export function inspectPrimary(prefix: string): PrimaryFacts {
  const pid = primaryPid(prefix);
  if (pid === 0) {
    throw runtimeError(
      'NO_PRIMARY',
      `no DPDK primary is running with --file-prefix ${prefix} (${describeRunning()}); start the application first, or pass the --file-prefix it was started with`,
    );
  }
  try {
    fs.accessSync(runtimeDir(prefix), fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    throw runtimeError(
      'PERMISSION_DENIED',
      `no access to ${runtimeDir(prefix)}, the primary's runtime directory: run burstcap as root or as the user that runs the primary`,
    );
  }
  let version: string | undefined;
  let ealArgs: string[] | undefined;
  try {
    const t = native.telemetryQuery(telemetrySocket(prefix), ['/eal/params']);
    version = (JSON.parse(t.greeting) as { version?: string }).version;
    const params = JSON.parse(t.replies[0] ?? '{}') as Record<string, unknown>;
    const list = params['/eal/params'];
    if (Array.isArray(list)) ealArgs = list.map(String).slice(1);
  } catch {
    // A primary started with --no-telemetry: lcores fall back to the defaults below.
  }
  const allCpus = os.cpus().map((_, i) => i);
  return { prefix, pid, version, ealArgs, lcores: primaryLcores(ealArgs ?? [], allCpus) };
}

/** Free bytes in the primary's heap on socket 0, from its telemetry; undefined without telemetry. */
export function primaryHeapFree(prefix: string): number | undefined {
  try {
    const t = native.telemetryQuery(telemetrySocket(prefix), ['/eal/heap_info,0']);
    const info = (JSON.parse(t.replies[0] ?? '{}') as Record<string, Record<string, number>>)['/eal/heap_info'];
    return typeof info?.['Free_size'] === 'number' ? info['Free_size'] : undefined;
  } catch {
    return undefined;
  }
}

/** Port ids the primary has, from its telemetry; undefined without telemetry. */
export function primaryPortIds(prefix: string): number[] | undefined {
  try {
    const t = native.telemetryQuery(telemetrySocket(prefix), ['/ethdev/list']);
    const list = (JSON.parse(t.replies[0] ?? '{}') as Record<string, unknown>)['/ethdev/list'];
    return Array.isArray(list) ? list.map(Number) : undefined;
  } catch {
    return undefined;
  }
}

/** Same major.minor: the shared memory layout is only stable within a release. */
export function checkVersion(facts: PrimaryFacts): void {
  if (facts.version === undefined) return;
  const ours = native.version();
  const release = (v: string): string => /(\d+\.\d+)/.exec(v)?.[1] ?? v;
  if (release(ours) !== release(facts.version)) {
    throw runtimeError(
      'VERSION_MISMATCH',
      `the primary runs ${facts.version} but burstcap is built against ${ours}; rebuild burstcap against the primary's DPDK (npm run build)`,
    );
  }
}

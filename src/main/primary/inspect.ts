/**
 * What burstcap learns about a primary before touching it: that it is alive,
 * its DPDK version and its lcores (from its telemetry socket, which needs no
 * EAL). Every check here runs before anything is created in the primary.
 */
import fs from 'node:fs';
import os from 'node:os';
import { runtimeError } from '../core/errors';
import { primaryLcores, type LcoreMap } from './lcores';
import { dpdkRelease, native, type LocalPortInfo, type PortInfo } from '../core/native';
import { DPDK_RELEASE_ENV, selectedDpdkRelease } from '../core/paths';
import { configVersion, primaryPid, runningPrimaries, runtimeDir, telemetrySocket } from './runtime-dir';
import { describeUnattachable, mappedEalAbi, releaseOfEalAbi, unattachableProcesses } from './unattachable';

export interface PrimaryFacts {
  prefix: string;
  pid: number;
  /** e.g. "DPDK 22.11.11"; undefined when the primary runs without telemetry. */
  version: string | undefined;
  /**
   * Its release without telemetry: from the header of its shared config
   * ("DPDK 24.11.0"), or the librte_eal it maps ("24.11").
   */
  releaseWithoutTelemetry: string | undefined;
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
    // The application may be running all the same, in a way no secondary can
    // join (Open vSwitch runs DPDK --in-memory): say which and what to do.
    const unjoinable = unattachableProcesses();
    if (unjoinable.length > 0) {
      throw runtimeError(
        'PRIMARY_NOT_ATTACHABLE',
        `no DPDK primary is running with --file-prefix ${prefix} that a secondary can join: ${describeUnattachable(unjoinable, prefix)} (${describeRunning()})`,
      );
    }
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
  const abi = mappedEalAbi(pid);
  const releaseWithoutTelemetry = configVersion(prefix) ?? (abi === undefined ? undefined : releaseOfEalAbi(abi));
  return { prefix, pid, version, releaseWithoutTelemetry, ealArgs, lcores: primaryLcores(ealArgs ?? [], allCpus) };
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

/**
 * The primary's ports and their names, from its telemetry alone: no EAL, so
 * any process may ask as often as it likes (Wireshark lists interfaces at
 * every start). undefined when the primary runs without telemetry.
 */
export function primaryPortNames(prefix: string): { port: number; name: string | undefined }[] | undefined {
  const ids = primaryPortIds(prefix);
  if (!ids) return undefined;
  let replies: string[] = [];
  try {
    replies =
      ids.length > 0
        ? native.telemetryQuery(
            telemetrySocket(prefix),
            ids.map((id) => `/ethdev/info,${id}`),
          ).replies
        : [];
  } catch {
    // Names are a courtesy: the ids are enough to capture.
  }
  return ids.map((port, i) => {
    try {
      const info = (JSON.parse(replies[i] ?? '{}') as Record<string, TelemetryPort | undefined>)['/ethdev/info'];
      return { port, name: typeof info?.name === 'string' && info.name !== '' ? info.name : undefined };
    } catch {
      return { port, name: undefined };
    }
  });
}

/**
 * DPDK's probe failure lines in this process's EAL log (a vdev whose
 * arguments were cut at 63 characters: "Couldn't open ...", "failed to
 * initialize net_pcap0 device"), without the PCI scan's routine lines.
 */
const PROBE_FAILURE = /Couldn't|failed to initiali[sz]e|probe failed|Cannot|cannot/;
const NOT_PROBE_FAILURE = /PCI|not driven|cannot be used/;

export function probeFailures(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => PROBE_FAILURE.test(l) && !NOT_PROBE_FAILURE.test(l))
    .map((l) => l.trim());
}

/** A vdev's name starts with its driver's (EAL matches them so); telemetry names no driver. */
function driverOfName(name: string): string {
  return /^net_[a-z_]+?(?=_?\d*$)/.exec(name)?.[0] ?? '';
}

interface TelemetryPort {
  name?: unknown;
  nb_rx_queues?: unknown;
  nb_tx_queues?: unknown;
  mac_addr?: unknown;
  numa_node?: unknown;
}

/**
 * Every port of the primary, as a capture sees them: the ones this process
 * probed (`local`, from native.listPorts) as they are, and for the others
 * what the primary's telemetry tells: name, queue counts, MAC and link.
 *
 * Telemetry rather than the shared ethdev data (the "rte_eth_dev_data"
 * memzone): its commands and JSON are a documented interface, the same
 * across releases, while the memzone's layout is a struct private to
 * lib/ethdev that changes between them (22.11 and 24.11 differ), and a
 * wrong guess there would read garbage as queue counts. The cost: a primary
 * started with --no-telemetry shows only the ports this process probed,
 * which is what `reasons` then explains.
 *
 * `reasons` are the probe failure lines of this process's EAL log; a port's
 * reason is every line that names no other port of the primary (the line
 * that says why, "Couldn't open <cut path>", often names no device at all).
 */
export function primaryPorts(prefix: string, local: readonly LocalPortInfo[], reasons: readonly string[]): { ports: PortInfo[]; listed: boolean } {
  const ports: PortInfo[] = local.map((p) => ({ ...p, probed: true }));
  const ids = primaryPortIds(prefix);
  if (!ids) return { ports, listed: false };
  const missing = ids.filter((id) => !local.some((p) => p.port === id));
  if (missing.length === 0) return { ports, listed: true };
  let replies: string[] = [];
  try {
    const commands = missing.flatMap((id) => [`/ethdev/info,${id}`, `/ethdev/link_status,${id}`]);
    replies = native.telemetryQuery(telemetrySocket(prefix), commands).replies;
  } catch {
    return { ports, listed: false };
  }
  let listed = true;
  const named: { id: number; name: string; info: TelemetryPort; link: Record<string, unknown> | undefined }[] = [];
  missing.forEach((id, i) => {
    const parse = (text: string | undefined, key: string): Record<string, unknown> | undefined => {
      try {
        const v = (JSON.parse(text ?? '{}') as Record<string, unknown>)[key];
        return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    };
    const info = parse(replies[2 * i], '/ethdev/info') as TelemetryPort | undefined;
    const link = parse(replies[2 * i + 1], '/ethdev/link_status');
    if (!info || typeof info.name !== 'string' || info.name === '') {
      // A port that cannot be named cannot be asked for by name either.
      listed = false;
      return;
    }
    named.push({ id, name: info.name, info, link });
  });
  const allNames = [...local.map((p) => p.name), ...named.map((n) => n.name)];
  for (const { id, name, info, link } of named) {
    const others = allNames.filter((n) => n !== name);
    const why = reasons
      .filter((r) => !others.some((o) => r.includes(o)))
      .slice(-4)
      .join('; ');
    ports.push({
      port: id,
      name,
      driver: driverOfName(name),
      mac: typeof info.mac_addr === 'string' ? info.mac_addr : '',
      rxQueues: Number(info.nb_rx_queues ?? 0),
      txQueues: Number(info.nb_tx_queues ?? 0),
      socket: Number(info.numa_node ?? -1),
      linkUp: link?.['status'] === 'UP',
      linkSpeedMbps: Number(link?.['speed'] ?? 0),
      probed: false,
      notProbedReason: why !== '' ? why : 'DPDK gave no reason in its log',
    });
  }
  ports.sort((a, b) => a.port - b.port);
  return { ports, listed };
}

/** The releases native/src/dpdk_release.h builds for. */
export const SUPPORTED_DPDK_RELEASES: readonly string[] = ['22.11', '24.11'];

/**
 * Why burstcap built against `ours` must not join a primary of release
 * `theirs` (undefined when it may), and how to build for the primary's.
 * `selected`: the release BURSTCAP_DPDK names, if any. Pure.
 */
export function versionMismatch(theirs: string, ours: string, selected: string | undefined): string | undefined {
  const primaryRelease = dpdkRelease(theirs);
  if (primaryRelease === dpdkRelease(ours)) return undefined;
  const which = selected === undefined ? 'the default build' : `the build ${DPDK_RELEASE_ENV}=${selected} selects`;
  const mismatch = `the primary runs DPDK ${theirs.replace(/^DPDK /, '')} but burstcap (${which}) is built against DPDK ${ours.replace(/^DPDK /, '')}, and a secondary must share its primary's release`;
  if (!SUPPORTED_DPDK_RELEASES.includes(primaryRelease)) {
    return `${mismatch}: burstcap supports DPDK ${SUPPORTED_DPDK_RELEASES.join(' and ')} only, so it cannot capture from this primary`;
  }
  return (
    `${mismatch}: build burstcap for DPDK ${primaryRelease} with ` +
    `'PKG_CONFIG_PATH=<directory of DPDK ${primaryRelease}'s libdpdk.pc> node scripts/build-addon.js --for ${primaryRelease}' ` +
    `and run it with ${DPDK_RELEASE_ENV}=${primaryRelease}` +
    (selected === undefined ? '' : ` (or unset ${DPDK_RELEASE_ENV} if the default build is for DPDK ${primaryRelease})`)
  );
}

/**
 * Same major.minor: the shared memory layout is only stable within a release.
 * Runs before EAL is initialised, so a primary of another release is never
 * touched. The release comes from the primary's telemetry greeting, or,
 * when telemetry is off, from its shared config's header or the librte_eal
 * it maps (a statically linked primary maps none).
 */
export function checkVersion(facts: PrimaryFacts): void {
  const theirs = facts.version ?? facts.releaseWithoutTelemetry;
  if (theirs === undefined) return;
  const why = versionMismatch(theirs, native.version(), selectedDpdkRelease());
  if (why !== undefined) throw runtimeError('VERSION_MISMATCH', why);
}

/**
 * The names burstcap gives what it creates inside a primary (rings, pools,
 * vdevs), and the patterns that recognise them again after a capture died:
 * defined together, so that what a capture creates is always what cleanup
 * looks for. DPDK caps ring and pool names at 26 characters (RTE_RING_NAMESIZE
 * minus the "RG_"/"MP_" memzone prefixes), so the names stay short: "bc", the
 * capture's pid, an optional letter when one process runs several captures,
 * then the kind and the ring's index.
 */

const TAG_PREFIX = 'bc';

/** The tag every object of one capture carries: bc<pid>[a-z]. */
export function captureTag(pid: number, suffix = ''): string {
  return `${TAG_PREFIX}${pid}${suffix}`;
}

export function ringName(tag: string, index: number): string {
  return `${tag}r${index}`;
}

export function poolName(tag: string, index: number): string {
  return `${tag}p${index}`;
}

/** A net_pcap vdev that sends a ring's copies out of an interface (--writer vdev). */
export function vdevName(tag: string, index: number): string {
  return `net_pcap_${tag}_${index}`;
}

/** Patterns for the names above; group 1 is the pid of the capture that made the object. */
export const OBJECT_NAME_PATTERNS = {
  ring: /^bc(\d+)[a-z]?r\d+$/,
  pool: /^bc(\d+)[a-z]?p\d+$/,
  vdev: /^net_pcap_bc(\d+)[a-z]?_\d+$/,
} as const;

/**
 * The `--pdump` tuple of dpdk-pdump:
 *
 *   (port=<id>|device_id=<name>),queue=<n|*>,(rx-dev=<path|iface>|tx-dev=<path|iface>)
 *   [,ring-size=<pow2>][,mbuf-size=<n>][,total-num-mbufs=<n>]
 *
 * Grammar decisions, stricter than rte_kvargs so that mistakes surface here
 * instead of as a half-started capture:
 * - Fields are separated by ','; a value can therefore never contain ','
 *   (paths and interface names with a comma cannot be expressed).
 * - Each field is split on its first '=' only, so a value may contain '='.
 * - Whitespace at either end of a key or value is an error, never trimmed: a
 *   file name ending in a space is almost certainly a quoting accident.
 *   Whitespace inside a path or device name is kept as given.
 * - Numbers are plain decimal digits: no sign, no 0x, no suffix.
 * - Each key may appear once; an empty value is an error.
 * - dpdk-pdump's legacy `dir` key is rejected: rx-dev/tx-dev already say
 *   which directions to capture.
 */
import { usageError } from '../core/errors';

/** How a ring's copies leave: written by the worker, or sent out of a net_pcap vdev. */
export type WriterKind = 'native' | 'vdev';
export type OutputFormat = 'pcap' | 'pcapng';
/** rx-dev=- or tx-dev=-: the packets go to standard output as they arrive. */
export const STDOUT_DEV = '-';

export interface PdumpTuple {
  readonly source: { readonly kind: 'port'; readonly port: number } | { readonly kind: 'device'; readonly deviceId: string };
  readonly queue: number | '*';
  readonly rxDev: string | undefined;
  readonly txDev: string | undefined;
  readonly ringSize: number;
  readonly mbufSize: number;
  readonly totalNumMbufs: number;
  /** The tuple exactly as given, for messages. */
  readonly text: string;
}

const KEY_PORT = 'port';
const KEY_DEVICE = 'device_id';
const KEY_QUEUE = 'queue';
const KEY_RX_DEV = 'rx-dev';
const KEY_TX_DEV = 'tx-dev';
const KEY_RING_SIZE = 'ring-size';
const KEY_MBUF_SIZE = 'mbuf-size';
const KEY_TOTAL_NUM_MBUFS = 'total-num-mbufs';
const KEY_LEGACY_DIR = 'dir';

const VALID_KEYS: readonly string[] = [KEY_PORT, KEY_DEVICE, KEY_QUEUE, KEY_RX_DEV, KEY_TX_DEV, KEY_RING_SIZE, KEY_MBUF_SIZE, KEY_TOTAL_NUM_MBUFS];

const FIELD_SEPARATOR = ',';
const KEY_VALUE_SEPARATOR = '=';
const ALL_QUEUES = '*';

const UINT16_MAX = 0xffff;

/**
 * Port ids are uint16_t. The build's RTE_MAX_ETHPORTS is the real limit; it
 * is only known to the native side and is checked when attaching.
 */
const PORT_MAX = UINT16_MAX - 1;
/** UINT16_MAX is RTE_PDUMP_ALL_QUEUES, which is spelled `*`. */
const QUEUE_MAX = UINT16_MAX - 1;

/**
 * Twice dpdk-pdump's 16384, half the default pool. A ring of 16384 overflows
 * after ~5 ms without a poll at 3.5 Mpps, and a worker sharing its CPU can be
 * kept off it that long by a scheduler tick or two. A ring as large as the
 * pool is worse under overload: the pool empties before the ring fills, and
 * each copy the primary then fails to allocate goes to the pool's shared ring
 * (20-45% fewer packets captured at maximum rate), where a full capture ring
 * only costs it a free into its lcore cache. The ring costs 8 bytes a slot.
 */
const RING_SIZE_DEFAULT = 32768;
const RING_SIZE_MIN = 2;
/** A ring of 2^28 mbuf pointers already takes 2 GiB of hugepage memory. */
const RING_SIZE_MAX = 1 << 28;

/** RTE_MBUF_DEFAULT_BUF_SIZE: 2048 bytes of data room plus the 128-byte headroom. */
const MBUF_SIZE_DEFAULT = 2176;
/**
 * The size includes RTE_PKTMBUF_HEADROOM (128). 256 leaves 128 bytes for
 * packet data, enough for a minimum Ethernet frame; anything smaller would
 * truncate every packet to nothing useful.
 */
const MBUF_SIZE_MIN = 256;
/** The data room size of rte_pktmbuf_pool_create() is a uint16_t. */
const MBUF_SIZE_MAX = UINT16_MAX;

/** dpdk-pdump's MBUFS_PER_POOL and its accepted range for total-num-mbufs. */
const TOTAL_NUM_MBUFS_DEFAULT = 65535;
const TOTAL_NUM_MBUFS_MIN = 1025;
const TOTAL_NUM_MBUFS_MAX = UINT16_MAX;

export const TUPLE_DEFAULTS: { readonly ringSize: number; readonly mbufSize: number; readonly totalNumMbufs: number } = {
  ringSize: RING_SIZE_DEFAULT,
  mbufSize: MBUF_SIZE_DEFAULT,
  totalNumMbufs: TOTAL_NUM_MBUFS_DEFAULT,
};

/** Inclusive bounds of the numeric keys, for callers that print help text. */
export const TUPLE_LIMITS = {
  portMax: PORT_MAX,
  queueMax: QUEUE_MAX,
  ringSizeMin: RING_SIZE_MIN,
  ringSizeMax: RING_SIZE_MAX,
  mbufSizeMin: MBUF_SIZE_MIN,
  mbufSizeMax: MBUF_SIZE_MAX,
  totalNumMbufsMin: TOTAL_NUM_MBUFS_MIN,
  totalNumMbufsMax: TOTAL_NUM_MBUFS_MAX,
} as const;

const DECIMAL = /^[0-9]+$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const EDGE_WHITESPACE = /^\s|\s$/;

export function parseTuple(text: string): PdumpTuple {
  const fail = (code: string, problem: string): never => {
    throw usageError(code, `--pdump '${text}': ${problem}`);
  };

  if (text === '') {
    fail('TUPLE_EMPTY', 'the tuple is empty (expected e.g. port=0,queue=*,rx-dev=rx.pcap)');
  }

  const fields = new Map<string, string>();
  for (const field of text.split(FIELD_SEPARATOR)) {
    if (field === '') {
      fail('TUPLE_EMPTY_FIELD', "empty field between commas (remove the extra ','; paths cannot contain ',')");
    }
    const at = field.indexOf(KEY_VALUE_SEPARATOR);
    if (at < 0) {
      fail('TUPLE_NOT_KEY_VALUE', `'${field}' is not key=value (each field is key=value; paths cannot contain ',')`);
    }
    const key = field.slice(0, at);
    const value = field.slice(at + 1);
    if (EDGE_WHITESPACE.test(key) || EDGE_WHITESPACE.test(value)) {
      fail('TUPLE_WHITESPACE', `'${field}' has whitespace around its key or value (remove it; whitespace is not trimmed)`);
    }
    if (key === '') {
      fail('TUPLE_MISSING_KEY', `'${field}' has no key before '=' (valid keys: ${VALID_KEYS.join(', ')})`);
    }
    if (key === KEY_LEGACY_DIR) {
      fail(
        'TUPLE_DIR_UNSUPPORTED',
        `${key}=${value} is dpdk-pdump's legacy direction key and is not supported ` +
          `(use ${KEY_RX_DEV}=<file> and/or ${KEY_TX_DEV}=<file> to choose the directions)`,
      );
    }
    if (!VALID_KEYS.includes(key)) {
      fail('TUPLE_UNKNOWN_KEY', `unknown key ${key}=${value} (valid keys: ${VALID_KEYS.join(', ')})`);
    }
    const previous = fields.get(key);
    if (previous !== undefined) {
      fail('TUPLE_REPEATED_KEY', `${key} is given twice (${key}=${previous} and ${key}=${value}; keep one)`);
    }
    if (value === '') {
      fail('TUPLE_EMPTY_VALUE', `${key}= has an empty value (give ${key}=<value>)`);
    }
    fields.set(key, value);
  }

  const portText = fields.get(KEY_PORT);
  const deviceId = fields.get(KEY_DEVICE);
  if (portText !== undefined && deviceId !== undefined) {
    fail('TUPLE_PORT_AND_DEVICE', `${KEY_PORT}=${portText} and ${KEY_DEVICE}=${deviceId} are both given (keep exactly one of them)`);
  }
  let source: PdumpTuple['source'];
  if (portText !== undefined) {
    source = {
      kind: 'port',
      port: parseBoundedInteger(
        fail,
        'TUPLE_BAD_PORT',
        KEY_PORT,
        portText,
        0,
        PORT_MAX,
        "; the primary's RTE_MAX_ETHPORTS, usually lower, is checked when attaching",
      ),
    };
  } else if (deviceId !== undefined) {
    source = { kind: 'device', deviceId };
  } else {
    source = fail('TUPLE_NO_SOURCE', `no ${KEY_PORT} or ${KEY_DEVICE} key (add ${KEY_PORT}=<port id> or ${KEY_DEVICE}=<pci address or vdev name>)`);
  }

  const queueText = fields.get(KEY_QUEUE);
  if (queueText === undefined) {
    return fail('TUPLE_NO_QUEUE', `no ${KEY_QUEUE} key (add ${KEY_QUEUE}=<queue id>, or ${KEY_QUEUE}=* for all queues)`);
  }
  const queue: number | '*' =
    queueText === ALL_QUEUES
      ? ALL_QUEUES
      : parseBoundedInteger(fail, 'TUPLE_BAD_QUEUE', KEY_QUEUE, queueText, 0, QUEUE_MAX, `, or ${KEY_QUEUE}=* for all queues`);

  const rxDev = fields.get(KEY_RX_DEV);
  const txDev = fields.get(KEY_TX_DEV);
  if (rxDev === undefined && txDev === undefined) {
    fail(
      'TUPLE_NO_OUTPUT',
      `no ${KEY_RX_DEV} or ${KEY_TX_DEV} key (add ${KEY_RX_DEV}=<pcap file or iface> and/or ${KEY_TX_DEV}=<pcap file or iface>)`,
    );
  }

  const ringSize = parseOptional(fields, KEY_RING_SIZE, RING_SIZE_DEFAULT, (value) => {
    const n = parseBoundedInteger(fail, 'TUPLE_BAD_RING_SIZE', KEY_RING_SIZE, value, RING_SIZE_MIN, RING_SIZE_MAX, ' and a power of two');
    if (!isPowerOfTwo(n)) {
      fail('TUPLE_BAD_RING_SIZE', `${KEY_RING_SIZE}=${value} is not a power of two (try ${nextPowerOfTwo(n)})`);
    }
    return n;
  });
  const mbufSize = parseOptional(fields, KEY_MBUF_SIZE, MBUF_SIZE_DEFAULT, (value) =>
    parseBoundedInteger(fail, 'TUPLE_BAD_MBUF_SIZE', KEY_MBUF_SIZE, value, MBUF_SIZE_MIN, MBUF_SIZE_MAX, ''),
  );
  const totalNumMbufs = parseOptional(fields, KEY_TOTAL_NUM_MBUFS, TOTAL_NUM_MBUFS_DEFAULT, (value) =>
    parseBoundedInteger(fail, 'TUPLE_BAD_TOTAL_NUM_MBUFS', KEY_TOTAL_NUM_MBUFS, value, TOTAL_NUM_MBUFS_MIN, TOTAL_NUM_MBUFS_MAX, ''),
  );

  return { source, queue, rxDev, txDev, ringSize, mbufSize, totalNumMbufs, text };
}

/**
 * Canonical text: keys in the order of dpdk-pdump's usage line, optional keys
 * only when they differ from the defaults.
 */
export function formatTuple(t: PdumpTuple): string {
  const fields: string[] = [];
  fields.push(t.source.kind === 'port' ? `${KEY_PORT}=${t.source.port}` : `${KEY_DEVICE}=${t.source.deviceId}`);
  fields.push(`${KEY_QUEUE}=${t.queue}`);
  if (t.rxDev !== undefined) fields.push(`${KEY_RX_DEV}=${t.rxDev}`);
  if (t.txDev !== undefined) fields.push(`${KEY_TX_DEV}=${t.txDev}`);
  if (t.ringSize !== RING_SIZE_DEFAULT) fields.push(`${KEY_RING_SIZE}=${t.ringSize}`);
  if (t.mbufSize !== MBUF_SIZE_DEFAULT) fields.push(`${KEY_MBUF_SIZE}=${t.mbufSize}`);
  if (t.totalNumMbufs !== TOTAL_NUM_MBUFS_DEFAULT) fields.push(`${KEY_TOTAL_NUM_MBUFS}=${t.totalNumMbufs}`);
  return fields.join(FIELD_SEPARATOR);
}

type Fail = (code: string, problem: string) => never;

function parseOptional(fields: ReadonlyMap<string, string>, key: string, fallback: number, parse: (value: string) => number): number {
  const value = fields.get(key);
  return value === undefined ? fallback : parse(value);
}

/** `extraRule` continues the "must be ..." sentence, e.g. ' and a power of two'. */
function parseBoundedInteger(fail: Fail, code: string, key: string, value: string, min: number, max: number, extraRule: string): number {
  const rule = `must be a decimal integer from ${min} to ${max}${extraRule}`;
  if (!DECIMAL.test(value)) {
    if (HEX.test(value)) {
      fail(code, `${key}=${value} is not decimal (${rule}; write ${key}=${parseInt(value, 16)})`);
    }
    if (value.startsWith('-')) {
      fail(code, `${key}=${value} is negative (${rule})`);
    }
    fail(code, `${key}=${value} is not a decimal integer (${rule})`);
  }
  const n = Number(value);
  if (n < min || n > max) {
    fail(code, `${key}=${value} is out of range (${rule})`);
  }
  return n;
}

/** Only called with n in 1..RING_SIZE_MAX, well inside 32-bit integers. */
function isPowerOfTwo(n: number): boolean {
  return (n & (n - 1)) === 0;
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

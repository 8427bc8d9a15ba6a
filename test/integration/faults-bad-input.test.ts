// Bad command lines: each must end with exit status 2 and one line naming the
// mistake, and must leave the primary exactly as it was (no memzone, no heap
// allocation, no callback), so that the next, correct capture just works.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, errorLines, EXIT_OK, EXIT_USAGE, runBurstcap } from '../helpers/burstcap';
import {
  memoryChange,
  memoryProblem,
  primaryMemory,
  type PrimaryMemory,
  readKnownCapture,
  startPacedPrimary,
  stopPacedPrimary,
} from '../helpers/burstcap-faults';
import { FixturePrimary } from '../helpers/fixture-primary';

const PACED_PPS = 20_000;
/** Small pools: the defaults (65535 mbufs a ring) are not what these tests are about. */
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
const GOOD_COUNT = 200;
/** One capture of rx and tx of one queue leaves two callback structs (see PDUMP_CALLBACK_BYTES). */
const CALLBACKS_PER_CAPTURE = 2;
/** Beyond the CPUs this machine has, whatever its size. */
const MISSING_CPU = cpus().length + 7;

interface BadInput {
  what: string;
  args: (dir: string) => string[];
  /** What the one error line must say. */
  says: RegExp;
}

const tupleIn = (dir: string, extra: string): string => `port=0,queue=0,rx-dev=${join(dir, 'rx.pcap')},${extra}`;
const pdump = (tuple: string): string[] => ['--pdump', tuple];
const withGoodTuple =
  (...opts: string[]) =>
  (dir: string): string[] => [...pdump(tupleIn(dir, SMALL_POOL)), ...opts];

const BAD_INPUTS: BadInput[] = [
  { what: 'ring-size not a power of two', args: (d) => pdump(tupleIn(d, 'ring-size=1000')), says: /ring-size=1000 is not a power of two/ },
  { what: 'mbuf-size above 65535', args: (d) => pdump(tupleIn(d, 'mbuf-size=65536')), says: /mbuf-size=65536 .*out of range/ },
  { what: 'total-num-mbufs below 1025', args: (d) => pdump(tupleIn(d, 'total-num-mbufs=1024')), says: /total-num-mbufs=1024 .*out of range/ },
  { what: 'total-num-mbufs above 65535', args: (d) => pdump(tupleIn(d, 'total-num-mbufs=65536')), says: /total-num-mbufs=65536 .*out of range/ },
  { what: 'no rx-dev or tx-dev', args: () => pdump(`port=0,queue=0,${SMALL_POOL}`), says: /no rx-dev or tx-dev/ },
  { what: 'an unknown key', args: (d) => pdump(tupleIn(d, 'colour=red')), says: /unknown key colour/ },
  { what: 'a repeated key', args: (d) => pdump(tupleIn(d, 'queue=1')), says: /queue is given twice/ },
  {
    what: 'port and device_id both',
    args: (d) => pdump(`port=0,device_id=net_ring0,queue=0,rx-dev=${join(d, 'rx.pcap')}`),
    says: /port=0 and device_id=net_ring0 are both given/,
  },
  {
    what: 'the same port, queue and direction twice',
    args: (d) => [...pdump(tupleIn(d, SMALL_POOL)), ...pdump(`port=0,queue=*,rx-dev=${join(d, 'other.pcap')},${SMALL_POOL}`)],
    says: /port 0 queue 0 rx is captured twice/,
  },
  { what: '--cpus that is not a list', args: withGoodTuple('--cpus', '1-x'), says: /--cpus 1-x: '1-x' is not a CPU/ },
  { what: '--cpus with a reversed range', args: withGoodTuple('--cpus', '1-0'), says: /--cpus 1-0: range 1-0 is reversed/ },
  {
    what: '--cpus naming a CPU the machine lacks',
    args: withGoodTuple('--cpus', String(MISSING_CPU)),
    says: new RegExp(`--cpus.*\\b${MISSING_CPU}\\b`),
  },
  {
    // With two rings the second worker would be pinned to it.
    what: '--cpus naming a missing CPU after a good one',
    args: (d) => [...pdump(`port=0,queue=0,rx-dev=${join(d, 'rx.pcap')},tx-dev=${join(d, 'tx.pcap')},${SMALL_POOL}`), '--cpus', `1,${MISSING_CPU}`],
    says: new RegExp(`--cpus.*\\b${MISSING_CPU}\\b`),
  },
  { what: '-a zero', args: withGoodTuple('-a', '0'), says: /-a\/--duration '0'/ },
  { what: '-a with a unit it does not know', args: withGoodTuple('-a', '10x'), says: /-a\/--duration '10x'/ },
  { what: '-c zero', args: withGoodTuple('-c', '0'), says: /-c\/--count '0'/ },
  { what: '-c not a number', args: withGoodTuple('-c', 'abc'), says: /-c\/--count 'abc'/ },
  { what: '-s with a unit', args: withGoodTuple('-s', '64k'), says: /-s\/--snaplen '64k': not a decimal integer/ },
  {
    what: '-f that libpcap cannot parse',
    args: withGoodTuple('-f', 'tcp port'),
    says: /filter 'tcp port': can't parse filter expression: syntax error/,
  },
  { what: '-s above 262144', args: withGoodTuple('-s', '262145'), says: /-s\/--snaplen '262145': out of range/ },
  {
    what: 'an output in a missing directory',
    args: (d) => pdump(`port=0,queue=0,rx-dev=${join(d, 'missing', 'rx.pcap')},${SMALL_POOL}`),
    says: /missing\/rx\.pcap.*does not exist/,
  },
  {
    what: 'a port the primary does not have',
    args: (d) => pdump(`port=3,queue=0,rx-dev=${join(d, 'rx.pcap')},${SMALL_POOL}`),
    says: /port=3 does not exist: the primary has port 0/,
  },
  {
    what: 'a queue the primary does not have',
    args: (d) => pdump(`port=0,queue=2,rx-dev=${join(d, 'rx.pcap')},${SMALL_POOL}`),
    says: /port 0 has 1 rx queue.*not queue 2/,
  },
  {
    what: 'a device name the primary does not know',
    args: (d) => pdump(`device_id=net_nope0,queue=0,rx-dev=${join(d, 'rx.pcap')},${SMALL_POOL}`),
    says: /device_id=net_nope0 does not exist/,
  },
];

describe('bad input', () => {
  let primary: FixturePrimary;
  let dir: string;
  let baseline: PrimaryMemory;

  beforeAll(async () => {
    ({ primary, dir, baseline } = await startPacedPrimary(PACED_PPS));
  });

  afterAll(() => stopPacedPrimary({ primary, dir }));

  const capture = (args: string[]) => ['capture', '--file-prefix', primary.prefix, '-q', ...args];

  it.each(BAD_INPUTS)('$what: exit 2, one line, primary untouched', async ({ args, says }) => {
    const argv = capture(args(dir));
    const result = await runBurstcap(argv);
    const context = describeResult(argv, result);

    expect(result.code, context).toBe(EXIT_USAGE);
    expect(result.stderr.trim().split('\n'), context).toHaveLength(1);
    expect(errorLines(result.stderr), context).toHaveLength(1);
    expect(result.stderr, context).toMatch(says);
    expect(memoryChange(baseline, primaryMemory(primary.prefix))).toBeUndefined();
  });

  it('leaves the primary able to serve the next capture', async () => {
    const rx = join(dir, 'after-rx.pcap');
    const tx = join(dir, 'after-tx.pcap');
    const argv = capture(['-c', String(GOOD_COUNT), ...pdump(`port=0,queue=0,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`)]);
    const result = await runBurstcap(argv);

    expect(result.code, describeResult(argv, result)).toBe(EXIT_OK);
    // A stale callback from a bad run would have made this enable fail with EEXIST.
    expect(result.stderr).not.toMatch(/removed what dead captures left/);
    expect(readKnownCapture(rx).packets + readKnownCapture(tx).packets).toBeGreaterThanOrEqual(GOOD_COUNT);
    expect(memoryProblem(primary.prefix, baseline, primaryMemory(primary.prefix), CALLBACKS_PER_CAPTURE)).toBeUndefined();
  });
});

/**
 * Command lines of the bench's primaries, and where everything runs.
 *
 * CPU placement on a small machine: the primary polls on the first CPU, the
 * capture tools share the last one. The primary's lcore ids start above the
 * highest CPU number, so every tool can use its CPU number as lcore id
 * (dumpcap has no other choice: EAL derives its ids from its CPU mask).
 */
import type { FixedScenario } from './scenarios';

/** testpmd's own default pool (~155k mbufs) would take ~370 MB of hugepages. */
const TESTPMD_MBUFS = 16_384;
const FIXTURE_MBUFS = 8_192;
/** net_null's default frame size: no size= argument needed. */
const NET_NULL_DEFAULT_SIZE = 64;

export interface CpuPlan {
  /** Where the primary's packet loop polls. */
  primaryCpu: number;
  /** Where every capture tool runs (and testpmd's idle main lcore). */
  captureCpu: number;
  /** First lcore id of the primary: above every CPU number. */
  primaryLcoreBase: number;
  /** Lcore id for a tool that takes one (dpdk-pdump): its CPU number. */
  toolLcoreId: number;
}

export function cpuPlan(cpus: readonly number[]): CpuPlan {
  if (cpus.length === 0) throw new Error('no CPU to run on');
  const sorted = [...cpus].sort((a, b) => a - b);
  const captureCpu = sorted[sorted.length - 1]!;
  return { primaryCpu: sorted[0]!, captureCpu, primaryLcoreBase: captureCpu + 1, toolLcoreId: captureCpu };
}

export function testpmdArgs(s: Pick<FixedScenario, 'queues' | 'frameSize'>, prefix: string, cpus: CpuPlan): string[] {
  const size = s.frameSize === NET_NULL_DEFAULT_SIZE ? '' : `,size=${s.frameSize}`;
  const main = cpus.primaryLcoreBase;
  return [
    // Main lcore (idle after start-up) beside the tools, the forwarding lcore alone.
    '--lcores',
    `${main}@${cpus.captureCpu},${main + 1}@${cpus.primaryCpu}`,
    '--no-pci',
    '--file-prefix',
    prefix,
    '--vdev',
    `net_null0${size}`,
    '--vdev',
    `net_null1${size}`,
    '--',
    '--forward-mode=io',
    '--auto-start',
    '--nb-cores=1',
    `--rxq=${s.queues}`,
    `--txq=${s.queues}`,
    `--total-num-mbufs=${TESTPMD_MBUFS}`,
  ];
}

export function fixtureArgs(s: Pick<FixedScenario, 'queues' | 'frameSize'>, rate: number, prefix: string, cpus: CpuPlan): string[] {
  return [
    '--lcores',
    `${cpus.primaryLcoreBase}@${cpus.primaryCpu}`,
    '--no-pci',
    '--file-prefix',
    prefix,
    '--vdev',
    'net_ring0',
    // --exit-on-eof: a bench that dies takes its primary with it.
    '--',
    '--exit-on-eof',
    '--known',
    '--rate',
    String(rate),
    '--size',
    String(s.frameSize),
    '--queues',
    String(s.queues),
    '--mbufs',
    String(FIXTURE_MBUFS),
  ];
}

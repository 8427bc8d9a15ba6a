// burstcap built against DPDK 24.11 (BURSTCAP_DPDK=24.11 selects that addon
// build) against a 24.11 dpdk-testpmd: what changed between the releases is
// covered here: copies stamped in TSC cycles, per-queue counters that 24.11
// keeps across captures, the BPF converter repair, the mempool ops table and
// memzones read with 24.11's layouts, and the release check that refuses a
// primary of the other release before anything is created in it.
//
// scripts/setup.sh builds DPDK 24.11 and this addon; where neither is there
// the suite is skipped, except in CI, where it must run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, describeResult, errorLines, EXIT_FAILURE, EXIT_OK, killAllBurstcaps, readSummary, runBurstcap } from '../helpers/burstcap';
import { isProcessAlive, memoryChange, memoryProblem, primaryMemory, type PrimaryMemory } from '../helpers/burstcap-faults';
import {
  assertNothingLeft,
  firstOutOfOrder,
  framesDifference,
  msToNs,
  removeDir,
  rewindReplay,
  shortTempDir,
  sleep,
  stopWhenForwarded,
  waitForwarded,
  writeInput,
} from '../helpers/capture';
import { frameInfo, makePackets, MARKER_MAGIC, seqOf } from '../helpers/packets';
import { readPcap, type PcapFile } from '../helpers/pcap';
import { Testpmd } from '../helpers/testpmd';
import { addonFile, DPDK_RELEASE_ENV } from '../../src/main/core/paths';

const RELEASE = '24.11';
const DPDK_2411_PREFIX = process.env['DPDK_2411_PREFIX'] ?? '/opt/dpdk-24.11';
const TESTPMD_2411 = join(DPDK_2411_PREFIX, 'bin', 'dpdk-testpmd');
const ADDON_2411 = addonFile(RELEASE);
const BUILT = existsSync(ADDON_2411) && existsSync(TESTPMD_2411);
const REQUIRED = process.env['CI'] === 'true';

/** burstcap with the 24.11 addon; and with the default (22.11) build, whatever the caller's environment says. */
const ENV_2411: NodeJS.ProcessEnv = { ...process.env, [DPDK_RELEASE_ENV]: RELEASE };
const ENV_DEFAULT: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== DPDK_RELEASE_ENV));

const PACKETS = 1_000;
const QUEUES = 2;
const PACKETS_PER_QUEUE = 500;
const SEQ_STRIDE = 100_000;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
const CLOCK_SLACK_MS = 1_000;
/** Packets flowing into the victim's rings when it is killed. */
const VICTIM_RUN_MS = 200;
/**
 * A secondary that probes a net_pcap port rte_zmalloc's the driver's
 * per-process state (struct pmd_process_private, pcap handles for 16 queues:
 * one 512 B allocation, measured) in the shared heap; one killed with -9
 * never frees it, and no other process can. One such allocation, within the
 * size bound memoryProblem allows a callback.
 */
const NET_PCAP_SECONDARY_STATE = 1;
const CLEANUP_REPORT = /removed what dead captures left in the primary: /;
/** rx and tx of one queue: the callback structs DPDK (22.11 and 24.11) cannot free (burstcap-faults.ts PDUMP_CALLBACK_BYTES). */
const CALLBACKS_PER_CAPTURE = 2;
const VERSION_MISMATCH = /the primary runs DPDK (\S+) but burstcap \(([^)]*)\) is built against DPDK (\S+)/;

if (!BUILT && REQUIRED) {
  describe('DPDK 24.11', () => {
    it('is built (scripts/setup.sh builds DPDK 24.11 and the addon against it)', () => {
      throw new Error(`missing ${existsSync(ADDON_2411) ? TESTPMD_2411 : ADDON_2411}: run bash scripts/setup.sh`);
    });
  });
}

const suite = BUILT ? describe : describe.skip;

let workDir: string;
const primaries: Testpmd[] = [];

async function replayPrimary(name: string, inputs: readonly Buffer[][], extraEal: string[] = []): Promise<Testpmd> {
  const files = inputs.map((frames, q) => writeInput(workDir, `${name}-${q}.pcap`, frames));
  const tp = await Testpmd.start({
    binary: TESTPMD_2411,
    vdevs: [`net_pcap0,${files.map((f) => `rx_pcap=${f}`).join(',')}`],
    rxq: inputs.length,
    txq: inputs.length,
    interactive: true,
    extraEal,
  });
  primaries.push(tp);
  return tp;
}

interface Replay {
  rx: PcapFile;
  tx: PcapFile;
  ports: { accepted: number; filtered: number; nombuf: number; ringfull: number }[];
  fromMs: number;
  toMs: number;
}

/** Replays the primary's input once from the start while burstcap (24.11) captures port 0; stops once all was sent. */
async function captureReplay(tp: Testpmd, tag: string, packets: number, extra: string[] = []): Promise<Replay> {
  await rewindReplay(tp);
  const rx = join(workDir, `${tag}-rx.pcap`);
  const tx = join(workDir, `${tag}-tx.pcap`);
  const json = join(workDir, `${tag}.json`);
  const args = ['capture', '--file-prefix', tp.prefix, '--json', json, '--pdump', `port=0,queue=*,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`, ...extra];
  const bc = Burstcap.spawn(args, { env: ENV_2411 });
  await bc.waitCapturing();
  const fromMs = Date.now();
  await tp.startForwarding();
  const result = await stopWhenForwarded(bc, () => waitForwarded(tp, 0, packets));
  const toMs = Date.now();
  expect(result.code, describeResult(args, result)).toBe(EXIT_OK);
  expect(errorLines(result.stderr)).toEqual([]);
  return { rx: readPcap(rx), tx: readPcap(tx), ports: readSummary(json).ports, fromMs, toMs };
}

function expectStampsInWindow(file: PcapFile, fromMs: number, toMs: number): void {
  const stamps = file.records.map((r) => r.tsNs);
  expect(firstOutOfOrder(stamps)).toBe(-1);
  const earliest = msToNs(fromMs - CLOCK_SLACK_MS);
  const latest = msToNs(toMs + CLOCK_SLACK_MS);
  const outside = stamps.filter((ts) => ts < earliest || ts > latest);
  expect(outside.length, `${outside.length} stamps outside [${earliest}, ${latest}], e.g. ${outside[0]}`).toBe(0);
}

/** The version error, and a primary that kept no trace of the attempt. */
async function expectRefused(tp: Testpmd, env: NodeJS.ProcessEnv, primaryRelease: string, oursRelease: string): Promise<string> {
  const before: PrimaryMemory = primaryMemory(tp.prefix);
  const args = ['capture', '--file-prefix', tp.prefix, '-c', '10', '--pdump', `port=0,queue=*,rx-dev=${join(workDir, 'refused.pcap')}`];
  const result = await runBurstcap(args, { env });
  const context = describeResult(args, result);
  expect(result.code, context).toBe(EXIT_FAILURE);
  const m = VERSION_MISMATCH.exec(result.stderr);
  expect(m, context).not.toBeNull();
  expect(m![1]!.startsWith(`${primaryRelease}.`), context).toBe(true);
  expect(m![3]!.startsWith(`${oursRelease}.`), context).toBe(true);
  expect(result.stderr, context).toContain(`node scripts/build-addon.js --for ${primaryRelease}`);
  expect(result.stderr, context).toContain(`${DPDK_RELEASE_ENV}=${primaryRelease}`);
  expect(existsSync(join(workDir, 'refused.pcap'))).toBe(false);
  expect(memoryChange(before, primaryMemory(tp.prefix))).toBeUndefined();
  expect(isProcessAlive(tp.pid)).toBe(true);
  return result.stderr;
}

suite(`burstcap built against DPDK ${RELEASE}, against a ${RELEASE} dpdk-testpmd`, () => {
  const frames = makePackets(PACKETS);
  let tp: Testpmd;

  beforeAll(async () => {
    workDir = shortTempDir();
    tp = await replayPrimary('single', [frames]);
  });

  afterEach(async () => {
    await killAllBurstcaps();
  });

  afterAll(async () => {
    for (const p of primaries) await p.stop();
    removeDir(workDir);
    assertNothingLeft(primaries);
  });

  it('loads the addon built against 24.11, which runs from its run path alone', async () => {
    const result = await runBurstcap(['doctor', '--file-prefix', tp.prefix], { env: { ...ENV_2411, LD_LIBRARY_PATH: '' } });
    const context = describeResult(['doctor'], result);
    expect(result.stdout, context).toMatch(/burstcap is built against DPDK 24\.11/);
    expect(result.stdout, context).toMatch(/\[ ok \] version\s+the primary and burstcap both run DPDK 24\.11/);
    expect(result.stdout, context).toMatch(/\[ ok \] mempool ops/);
  });

  it('captures rx and tx exactly, stamped (from TSC cycles) when the primary handled them, counted per capture', async () => {
    for (const tag of ['exact1', 'exact2']) {
      const cap = await captureReplay(tp, tag, PACKETS);
      expect(
        framesDifference(
          cap.rx.records.map((r) => r.data),
          frames,
        ),
        `${tag} rx`,
      ).toBeUndefined();
      expect(
        framesDifference(
          cap.tx.records.map((r) => r.data),
          frames,
        ),
        `${tag} tx`,
      ).toBeUndefined();
      expect(cap.rx.records.every((r) => r.caplen === r.origlen && r.caplen === r.data.length)).toBe(true);
      expectStampsInWindow(cap.rx, cap.fromMs, cap.toMs);
      expectStampsInWindow(cap.tx, cap.fromMs, cap.toMs);
      const rxStamp = new Map(cap.rx.records.map((r) => [seqOf(r.data), r.tsNs]));
      expect(cap.tx.records.filter((r) => r.tsNs < (rxStamp.get(seqOf(r.data)) ?? 0n))).toEqual([]);
      // 24.11 keeps the primary's counters from the first capture: the second's are its own all the same.
      expect(cap.ports, tag).toEqual([{ port: 0, accepted: 2 * PACKETS, filtered: 0, nombuf: 0, ringfull: 0 }]);
    }
  });

  it.each([
    ['udp', `udp[8:4] = 0x${MARKER_MAGIC.toString(16)}`],
    ['tcp', 'tcp and tcp[12] & 0xf0 = 0x50'],
  ] as const)('-f keeps exactly the %s frames (indirect loads that 24.11 converts wrong unless repaired)', async (protocol, filter) => {
    const kept = frames.filter((f) => frameInfo(f)?.protocol === protocol);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(frames.length);
    const cap = await captureReplay(tp, `filter-${protocol}`, PACKETS, ['-f', filter]);
    expect(
      framesDifference(
        cap.rx.records.map((r) => r.data),
        kept,
      ),
    ).toBeUndefined();
    expect(
      framesDifference(
        cap.tx.records.map((r) => r.data),
        kept,
      ),
    ).toBeUndefined();
    expect(cap.ports).toEqual([{ port: 0, accepted: 2 * kept.length, filtered: 2 * (frames.length - kept.length), nombuf: 0, ringfull: 0 }]);
  });

  it('after kill -9 of a capture, burstcap cleanup removes its leftovers and the next capture is exact', async () => {
    await rewindReplay(tp);
    const baseline = primaryMemory(tp.prefix);
    const victim = Burstcap.spawn(
      [
        'capture',
        '--file-prefix',
        tp.prefix,
        '--pdump',
        `port=0,queue=0,rx-dev=${join(workDir, 'victim-rx.pcap')},tx-dev=${join(workDir, 'victim-tx.pcap')},${SMALL_POOL}`,
      ],
      {
        env: ENV_2411,
      },
    );
    await victim.waitCapturing();
    await tp.startForwarding();
    await sleep(VICTIM_RUN_MS);
    await victim.kill();
    expect(isProcessAlive(victim.pid)).toBe(false);

    const cleanup = await runBurstcap(['cleanup', '--file-prefix', tp.prefix], { env: ENV_2411 });
    const context = describeResult(['cleanup'], cleanup);
    expect(cleanup.code, context).toBe(EXIT_OK);
    expect(cleanup.stdout, context).toMatch(CLEANUP_REPORT);
    for (const object of [`ring bc${victim.pid}r0`, `ring bc${victim.pid}r1`, `pool bc${victim.pid}p0`, `pool bc${victim.pid}p1`]) {
      expect(cleanup.stdout, context).toContain(`${object} (burstcap pid ${victim.pid})`);
    }
    const again = await runBurstcap(['cleanup', '--file-prefix', tp.prefix], { env: ENV_2411 });
    expect(again.stdout, describeResult(['cleanup'], again)).toMatch(/^nothing to clean up/);
    expect(memoryProblem(tp.prefix, baseline, primaryMemory(tp.prefix), CALLBACKS_PER_CAPTURE + NET_PCAP_SECONDARY_STATE)).toBeUndefined();

    const cap = await captureReplay(tp, 'after-kill', PACKETS);
    expect(
      framesDifference(
        cap.rx.records.map((r) => r.data),
        frames,
      ),
    ).toBeUndefined();
    expect(
      framesDifference(
        cap.tx.records.map((r) => r.data),
        frames,
      ),
    ).toBeUndefined();
  });

  it('the default (22.11) build refuses the 24.11 primary before touching it, and says how to build for 24.11', async () => {
    const stderr = await expectRefused(tp, ENV_DEFAULT, '24.11', '22.11');
    expect(stderr).toContain('the default build');
  });

  it('without telemetry on the primary, the release comes from its shared config', async () => {
    const quiet = await replayPrimary('quiet', [frames.slice(0, 10)], ['--no-telemetry']);
    const args = ['capture', '--file-prefix', quiet.prefix, '-c', '10', '--pdump', `port=0,queue=*,rx-dev=${join(workDir, 'quiet.pcap')}`];
    const result = await runBurstcap(args, { env: ENV_DEFAULT });
    const context = describeResult(args, result);
    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(result.stderr, context).toMatch(/the primary runs DPDK 24\.11\.\d+ but burstcap \(the default build\) is built against DPDK 22\.11/);
    expect(existsSync(join(workDir, 'quiet.pcap'))).toBe(false);
    expect(isProcessAlive(quiet.pid)).toBe(true);
  });

  it('the 24.11 build refuses a 22.11 primary before touching it', async () => {
    const old = await Testpmd.start({ vdevs: ['net_null0'], interactive: true });
    primaries.push(old);
    const stderr = await expectRefused(old, ENV_2411, '22.11', '24.11');
    expect(stderr).toContain(`the build ${DPDK_RELEASE_ENV}=24.11 selects`);
  });

  it('captures two rx and two tx queues, each queue exact in the merged files', async () => {
    const inputs = Array.from({ length: QUEUES }, (_, q) => makePackets(PACKETS_PER_QUEUE, { firstSeq: q * SEQ_STRIDE, seed: q + 1 }));
    const mq = await replayPrimary('multi', inputs);
    const cap = await captureReplay(mq, 'multi', QUEUES * PACKETS_PER_QUEUE);
    for (const file of [cap.rx, cap.tx]) {
      expect(file.records).toHaveLength(QUEUES * PACKETS_PER_QUEUE);
      expect(firstOutOfOrder(file.records.map((r) => r.tsNs))).toBe(-1);
      for (let q = 0; q < QUEUES; q++) {
        const ofQueue = file.records.map((r) => r.data).filter((f) => Math.floor(seqOf(f) / SEQ_STRIDE) === q);
        expect(framesDifference(ofQueue, inputs[q]!), `queue ${q}`).toBeUndefined();
      }
    }
    expect(cap.ports).toEqual([{ port: 0, accepted: 2 * QUEUES * PACKETS_PER_QUEUE, filtered: 0, nombuf: 0, ringfull: 0 }]);
  });
});

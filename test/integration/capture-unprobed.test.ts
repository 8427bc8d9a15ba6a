// A port no secondary can open: DPDK 22.11 hands secondaries vdev arguments
// cut at 63 characters, so a net_pcap port replaying two long rx_pcap= paths
// fails to probe in every secondary. The primary has it all the same, and
// pdump requests name the device, so burstcap lists it (with DPDK's reason)
// and captures it by name: rx and tx of both queues, byte for byte, and every
// callback removed again, also when the primary was paused during the stop
// and when the capture was killed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, describeResult, errorLines, EXIT_FAILURE, EXIT_OK, killAllBurstcaps, readSummary, runBurstcap } from '../helpers/burstcap';
import { isProcessAlive, memoryProblem, primaryMemory, processState, type PrimaryMemory } from '../helpers/burstcap-faults';
import {
  assertNothingLeft,
  framesDifference,
  framesOf,
  removeDir,
  rewindReplay,
  shortTempDir,
  sleep,
  stopWhenForwarded,
  waitForwarded,
  writeInput,
} from '../helpers/capture';
import { makePackets, seqOf } from '../helpers/packets';
import { Testpmd } from '../helpers/testpmd';

const QUEUES = 2;
const PACKETS_PER_QUEUE = 300;
const SEQ_STRIDE = 100_000;
/** What DPDK 22.11 passes on to secondaries of a vdev's arguments. */
const SECONDARY_ARGS_LIMIT = 63;
/** An ordinary directory name; with two rx_pcap= files it makes the arguments far longer than 63 characters. */
const LONG_DIR = 'replayed-inputs-of-a-port-that-no-secondary-can-probe';
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
/** rx and tx of two queues; DPDK 22.11 never frees a removed callback's struct (PDUMP_CALLBACK_BYTES). */
const CALLBACKS = 2 * QUEUES;
const EXIT_TIMEOUT_MS = 30_000;
const RESUME_MS = 1_000;
const STOP_BUDGET_MS = 10_000;

interface PortJson {
  port: number;
  name: string;
  driver: string;
  mac: string;
  rxQueues: number;
  txQueues: number;
  probed: boolean;
  notProbedReason?: string;
}
interface CleanupJson {
  removed: string[];
  callbacks_disabled: number;
  kept: { object: string; why: string }[];
}

let workDir: string;
let tp: Testpmd | undefined;
let inputs: Buffer[][] = [];
let vdevArgs = '';

const queueOf = (frame: Buffer): number => Math.floor(seqOf(frame) / SEQ_STRIDE);

function tuple(name: string): string {
  return `port=0,queue=*,rx-dev=${join(workDir, `${name}-rx.pcap`)},tx-dev=${join(workDir, `${name}-tx.pcap`)},${SMALL_POOL}`;
}

/** Rewinds the replay first: the primary's heap is measured after testpmd reopened its files. */
async function rewound(): Promise<PrimaryMemory> {
  await rewindReplay(tp!);
  return primaryMemory(tp!.prefix);
}

beforeAll(async () => {
  workDir = shortTempDir();
  const inputDir = join(workDir, LONG_DIR);
  mkdirSync(inputDir);
  inputs = Array.from({ length: QUEUES }, (_, q) => makePackets(PACKETS_PER_QUEUE, { firstSeq: q * SEQ_STRIDE, seed: q + 7 }));
  const files = inputs.map((frames, q) => writeInput(inputDir, `queue-${q}.pcap`, frames));
  vdevArgs = files.map((f) => `rx_pcap=${f}`).join(',');
  tp = await Testpmd.start({ vdevs: [`net_pcap0,${vdevArgs}`], rxq: QUEUES, txq: QUEUES, interactive: true });
});

afterEach(async () => {
  await killAllBurstcaps();
  if (tp && isProcessAlive(tp.pid) && processState(tp.pid) === 'T') process.kill(tp.pid, 'SIGCONT');
});

afterAll(async () => {
  await tp?.stop();
  removeDir(workDir);
  assertNothingLeft([tp]);
});

describe('a port this process cannot open', () => {
  it('is one no secondary can probe: its vdev arguments are longer than DPDK passes on', () => {
    expect(vdevArgs.length).toBeGreaterThan(SECONDARY_ARGS_LIMIT);
  });

  it("list shows it, says it was not opened here and gives DPDK's reason; --json too", async () => {
    const json = await runBurstcap(['list', '--file-prefix', tp!.prefix, '--json']);
    expect(json.code, describeResult(['list', '--json'], json)).toBe(EXIT_OK);
    const ports = JSON.parse(json.stdout) as PortJson[];
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatchObject({ port: 0, name: 'net_pcap0', driver: 'net_pcap', rxQueues: QUEUES, txQueues: QUEUES, probed: false });
    expect(ports[0]!.mac).toMatch(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/i);
    expect(ports[0]!.notProbedReason).toMatch(/Couldn't open|failed to initiali[sz]e net_pcap0/);

    const text = await runBurstcap(['list', '--file-prefix', tp!.prefix]);
    expect(text.code, describeResult(['list'], text)).toBe(EXIT_OK);
    const [header, row] = text.stdout.trimEnd().split('\n');
    expect(header).toMatch(/\bopened$/);
    expect(row).toMatch(
      /^0\s+net_pcap0\s+net_pcap\s+\S+\s+2\s+2\s+.*\bno \(captured by name; DPDK said: .*(Couldn't open|failed to initiali[sz]e net_pcap0)/,
    );
  });

  it('is captured by name: rx and tx of both queues exact, and stopping removes every callback', async () => {
    const baseline = await rewound();
    const json = join(workDir, 'exact.json');
    const args = ['capture', '--file-prefix', tp!.prefix, '--json', json, '--pdump', tuple('exact')];
    const bc = Burstcap.spawn(args);
    const rings = await bc.waitCapturing();
    expect(rings.map((r) => `${r.port}${r.direction}${r.queue}`).sort()).toEqual(['0rx0', '0rx1', '0tx0', '0tx1']);
    await tp!.startForwarding();
    const result = await stopWhenForwarded(bc, () => waitForwarded(tp!, 0, QUEUES * PACKETS_PER_QUEUE));
    expect(result.code, describeResult(args, result)).toBe(EXIT_OK);
    expect(errorLines(result.stderr)).toEqual([]);

    for (const dir of ['rx', 'tx']) {
      const frames = framesOf(join(workDir, `exact-${dir}.pcap`));
      expect(frames).toHaveLength(QUEUES * PACKETS_PER_QUEUE);
      for (let q = 0; q < QUEUES; q++) {
        expect(
          framesDifference(
            frames.filter((f) => queueOf(f) === q),
            inputs[q]!,
          ),
          `${dir} queue ${q}`,
        ).toBeUndefined();
      }
    }
    // The per-queue counters are read by the primary's port id, which is right here too.
    const summary = readSummary(json);
    expect(summary.ports).toEqual([expect.objectContaining({ port: 0, accepted: 2 * QUEUES * PACKETS_PER_QUEUE })]);

    // Every callback is gone (only DPDK's unfreeable structs stay), and every
    // ring and pool: a ring is freed only after the primary acknowledged.
    expect(memoryProblem(tp!.prefix, baseline, primaryMemory(tp!.prefix), CALLBACKS)).toBeUndefined();
    // No callback is left on any queue: another capture of all of them is accepted.
    const again = await runBurstcap(['capture', '--file-prefix', tp!.prefix, '-q', '-a', '200ms', '--pdump', tuple('again')]);
    expect(again.code, describeResult(['capture', 'again'], again)).toBe(EXIT_OK);
  });

  it('a paused primary during the stop: nothing freed under it; the by-name disables it reads on resume remove every callback', async () => {
    const baseline = await rewound();
    const json = join(workDir, 'paused.json');
    const bc = Burstcap.spawn(['capture', '--file-prefix', tp!.prefix, '-q', '--json', json, '--pdump', tuple('paused')]);
    await bc.waitCapturing();
    process.kill(tp!.pid, 'SIGSTOP');
    const signalled = Date.now();
    bc.signal('SIGINT');
    const result = await bc.exit(EXIT_TIMEOUT_MS);
    const context = describeResult(bc.args, result);
    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(Date.now() - signalled, context).toBeLessThan(STOP_BUDGET_MS);
    expect(result.stderr, context).toMatch(
      /the primary did not answer the request to stop capturing port 0 queue 0 rx.*\(it is stopped \(state T\)\).*left in place for 'burstcap cleanup'/,
    );
    expect((readSummary(json) as ReturnType<typeof readSummary> & { left_in_place: string[] }).left_in_place, context).toHaveLength(CALLBACKS);

    process.kill(tp!.pid, 'SIGCONT');
    await sleep(RESUME_MS);
    expect(isProcessAlive(tp!.pid)).toBe(true);
    const cleanup = await runBurstcap(['cleanup', '--file-prefix', tp!.prefix, '--json']);
    const cleaned = JSON.parse(cleanup.stdout) as CleanupJson;
    expect(cleanup.code, describeResult(['cleanup'], cleanup)).toBe(EXIT_OK);
    // Delivered by name while the primary was stopped, carried out when it resumed.
    expect(cleaned.callbacks_disabled, cleanup.stdout).toBe(0);
    expect(
      cleaned.removed.filter((r) => r.includes(`bc${bc.pid}`)),
      cleanup.stdout,
    ).toHaveLength(2 * CALLBACKS);
    expect(memoryProblem(tp!.prefix, baseline, primaryMemory(tp!.prefix), CALLBACKS)).toBeUndefined();
  });

  it('a capture killed with -9: cleanup disables its callbacks by the names on its owner record, then frees its rings', async () => {
    const baseline = await rewound();
    const victim = Burstcap.spawn(['capture', '--file-prefix', tp!.prefix, '-q', '--pdump', tuple('killed')]);
    await victim.waitCapturing();
    await victim.kill();
    const cleanup = await runBurstcap(['cleanup', '--file-prefix', tp!.prefix, '--json']);
    const cleaned = JSON.parse(cleanup.stdout) as CleanupJson;
    expect(cleanup.code, describeResult(['cleanup'], cleanup)).toBe(EXIT_OK);
    expect(cleaned.callbacks_disabled, cleanup.stdout).toBe(CALLBACKS);
    expect(
      cleaned.removed.filter((r) => r.includes(`bc${victim.pid}`)),
      cleanup.stdout,
    ).toHaveLength(2 * CALLBACKS);
    expect(memoryProblem(tp!.prefix, baseline, primaryMemory(tp!.prefix), CALLBACKS)).toBeUndefined();
  });

  // Last: after a vdev was hotplugged, testpmd refuses `start` (see FedPrimary).
  it('--writer vdev needs nothing of the port opened here either: its vdevs are its own', async () => {
    const baseline = await rewound();
    const args = ['capture', '--file-prefix', tp!.prefix, '-q', '--writer', 'vdev', '-a', '1', '--pdump', tuple('vdev')];
    const result = await runBurstcap(args);
    expect(result.code, describeResult(args, result)).toBe(EXIT_OK);
    for (const dir of ['rx', 'tx']) expect(framesOf(join(workDir, `vdev-${dir}.pcap`)), dir).toEqual([]);
    // Four tx-only vdevs came and went: no memzone of theirs is left, and no callback.
    const after = primaryMemory(tp!.prefix);
    expect(after.memzones.filter((z) => !baseline.memzones.includes(z))).toEqual([]);
    const again = await runBurstcap(['capture', '--file-prefix', tp!.prefix, '-q', '-a', '200ms', '--pdump', tuple('after-vdev')]);
    expect(again.code, describeResult(['capture', 'after-vdev'], again)).toBe(EXIT_OK);
  });
});

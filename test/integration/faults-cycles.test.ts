// Many ordinary captures in a row against one primary: whatever a capture
// creates there (rings, pools, callbacks, runtime files) it must remove, or
// a long-running application slowly fills up with the remains of its captures.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, describeResult, EXIT_OK } from '../helpers/burstcap';
import {
  isProcessAlive,
  memoryProblem,
  partFiles,
  PDUMP_CALLBACK_BYTES,
  primaryMemory,
  type PrimaryMemory,
  readKnownCapture,
  runtimeFilesOf,
  startPacedPrimary,
  stopPacedPrimary,
} from '../helpers/burstcap-faults';
import { FixturePrimary } from '../helpers/fixture-primary';

const PACED_PPS = 20_000;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
/**
 * 200 captures. One capture costs 1.1-1.2 s of process start, EAL
 * attach and teardown on an idle 2-CPU machine (measured: 165 cycles in
 * 181 s, 200 in 237 s), so 200 take about 4 minutes; beside other busy processes a
 * cycle took 2.2 s. The loop therefore runs up to 200 within a 4-minute box
 * and must reach at least MIN_CYCLES, which still shows any per-capture growth.
 */
const CYCLES = 200;
const MIN_CYCLES = 60;
const TIME_BOX_MS = 240_000;
const TEST_TIMEOUT_MS = TIME_BOX_MS + 60_000;
/**
 * Both stop conditions, taken in turn. A count needs packets to stop; a
 * 0.2 s window may see none when the loaded machine stalls the primary.
 */
const STOP_OPTIONS: readonly { argv: string[]; minPackets: number }[] = [
  { argv: ['-c', '1'], minPackets: 1 },
  { argv: ['-a', '0.2'], minPackets: 0 },
];
/** rx and tx of one queue: two callbacks per capture (see PDUMP_CALLBACK_BYTES and CALLBACK_PAD_MAX_BYTES). */
const CALLBACKS_PER_CAPTURE = 2;

describe('start/stop cycles', () => {
  let primary: FixturePrimary;
  let dir: string;
  let baseline: PrimaryMemory;

  beforeAll(async () => {
    ({ primary, dir, baseline } = await startPacedPrimary(PACED_PPS));
  });

  afterAll(() => stopPacedPrimary({ primary, dir }));

  async function captureOnce(cycle: number): Promise<void> {
    // Both directions into one file: two rings write parts that are merged at the end.
    const out = join(dir, 'both.pcap');
    const stop = STOP_OPTIONS[cycle % STOP_OPTIONS.length]!;
    const argv = [
      'capture',
      '--file-prefix',
      primary.prefix,
      '-q',
      ...stop.argv,
      '--pdump',
      `port=0,queue=0,rx-dev=${out},tx-dev=${out},${SMALL_POOL}`,
    ];
    const bc = Burstcap.spawn(argv);
    const result = await bc.exit();
    const context = `cycle ${cycle}: ${describeResult(argv, result)}`;

    expect(result.code, context).toBe(EXIT_OK);
    expect(result.stderr, context).not.toMatch(/warning|removed what dead captures left/);
    expect(readKnownCapture(out, { ordered: false }).packets, context).toBeGreaterThanOrEqual(stop.minPackets);
    expect(partFiles(dir), context).toEqual([]);
    // Threads and descriptors die with the process; its secondary's files in the primary's runtime directory must not outlive it.
    expect(isProcessAlive(bc.pid), context).toBe(false);
    expect(runtimeFilesOf(primary.prefix, bc.pid), context).toEqual([]);
  }

  it(
    `up to ${CYCLES} captures leave no memory, memzones, processes or files behind`,
    async () => {
      const started = Date.now();
      let cycles = 0;
      while (cycles < CYCLES && Date.now() - started < TIME_BOX_MS) {
        await captureOnce(cycles);
        cycles++;
      }
      console.log(`${cycles} capture cycles in ${((Date.now() - started) / 1000).toFixed(1)} s`);

      const after = primaryMemory(primary.prefix);
      const callbacks = CALLBACKS_PER_CAPTURE * cycles;
      const padding = after.allocSize - baseline.allocSize - callbacks * PDUMP_CALLBACK_BYTES;
      // Usually 0-128 B over 200 cycles: a few callbacks that filled a small hole (see CALLBACK_PAD_MAX_BYTES).
      console.log(
        `heap: ${after.allocCount - baseline.allocCount} allocation(s) for ${callbacks} callbacks, ${padding} B beyond ${PDUMP_CALLBACK_BYTES} B each`,
      );

      expect(cycles).toBeGreaterThanOrEqual(MIN_CYCLES);
      expect(memoryProblem(primary.prefix, baseline, after, callbacks)).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );
});

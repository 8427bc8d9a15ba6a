// The command line around the capture engine, against real dpdk-testpmd
// primaries: `list`, dpdk-pdump's own syntax, Ctrl-C, captures run back to
// back on one primary, and usage errors that must stop before anything is
// touched in the primary.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Burstcap,
  EXIT_USAGE,
  describeResult,
  errorLines,
  killAllBurstcaps,
  readSummary,
  runBurstcap,
  type BurstcapResult,
} from '../helpers/burstcap';
import { assertNothingLeft, framesDifference, framesOf, removeDir, rewindReplay, shortTempDir, waitForwarded, writeInput } from '../helpers/capture';
import { makePackets } from '../helpers/packets';
import { tcpdumpLines } from '../helpers/pcap';
import { Testpmd } from '../helpers/testpmd';

const PACKETS = 500;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
const BACK_TO_BACK_ROUNDS = 3;
/** The primary of the list and usage tests: two ports with distinctive queue counts. */
const LIST_RXQ = 2;
const LIST_TXQ = 3;
const LIST_PORTS = ['net_null0', 'net_null1'];
/** Lcores of both primaries (the Testpmd helper's default). */
const PRIMARY_LCORES = [0, 1];
const LCORE_LINE = /burstcap uses lcore id (\d+)/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

let workDir: string;
let frames: Buffer[] = [];
let replay: Testpmd | undefined;
let listPrimary: Testpmd | undefined;

function out(name: string): string {
  return join(workDir, name);
}

/** Files replayed exactly once: the input's frames, in order, in both directions. */
function expectReplayed(rx: string, tx: string): void {
  expect(framesDifference(framesOf(rx), frames), rx).toBeUndefined();
  expect(framesDifference(framesOf(tx), frames), tx).toBeUndefined();
  expect(tcpdumpLines(rx)).toHaveLength(frames.length);
  expect(tcpdumpLines(tx)).toHaveLength(frames.length);
}

/** Replays the input once while `bc` captures, and waits until the primary sent all of it. */
async function replayOnce(bc: Burstcap): Promise<void> {
  const tp = replay as Testpmd;
  await bc.waitCapturing();
  await rewindReplay(tp);
  await tp.startForwarding();
  await waitForwarded(tp, 0, frames.length);
}

/** Exit 2 and a single `burstcap: error:` line that names the problem; nothing captured. */
function expectUsageError(args: readonly string[], r: BurstcapResult, problem: RegExp): void {
  expect(r.code, describeResult(args, r)).toBe(EXIT_USAGE);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, describeResult(args, r)).toHaveLength(1);
  expect(lines[0]).toMatch(/^burstcap: error: /);
  expect(lines[0]).toMatch(problem);
  expect(r.stdout).toBe('');
}

beforeAll(async () => {
  workDir = shortTempDir();
  frames = makePackets(PACKETS);
  const input = writeInput(workDir, 'in.pcap', frames);
  replay = await Testpmd.start({ vdevs: [`net_pcap0,rx_pcap=${input}`], interactive: true });
  listPrimary = await Testpmd.start({ vdevs: LIST_PORTS, rxq: LIST_RXQ, txq: LIST_TXQ, interactive: true });
});

afterEach(async () => {
  await killAllBurstcaps();
});

afterAll(async () => {
  await Promise.all([replay?.stop(), listPrimary?.stop()]);
  removeDir(workDir);
  assertNothingLeft([replay, listPrimary]);
});

describe('burstcap list', () => {
  it('prints a table of the ports with names, drivers and queue counts', async () => {
    const args = ['list', '--file-prefix', (listPrimary as Testpmd).prefix];
    const r = await runBurstcap(args);
    expect(r.code, describeResult(args, r)).toBe(0);

    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['port', 'name', 'driver', 'mac', 'rxq', 'txq', 'link', 'opened']);
    expect(rows).toHaveLength(LIST_PORTS.length);
    rows.forEach((row, i) => {
      const [port, name, driver, mac, rxq, txq] = row.split(/\s+/);
      expect({ port, name, driver, rxq, txq }).toEqual({
        port: String(i),
        name: LIST_PORTS[i],
        driver: 'net_null',
        rxq: String(LIST_RXQ),
        txq: String(LIST_TXQ),
      });
      expect(mac).toMatch(MAC);
      // net_null ports: every one is opened by this process too.
      expect(row.trimEnd().endsWith('yes'), row).toBe(true);
    });
  });

  it('--json gives the same ports as data', async () => {
    const args = ['list', '--file-prefix', (listPrimary as Testpmd).prefix, '--json'];
    const r = await runBurstcap(args);
    expect(r.code, describeResult(args, r)).toBe(0);

    const ports = JSON.parse(r.stdout) as { port: number; name: string; driver: string; mac: string; rxQueues: number; txQueues: number }[];
    expect(ports).toHaveLength(LIST_PORTS.length);
    ports.forEach((p, i) => {
      expect(p).toMatchObject({ port: i, name: LIST_PORTS[i], driver: 'net_null', rxQueues: LIST_RXQ, txQueues: LIST_TXQ });
      expect(p.mac).toMatch(MAC);
    });
  });
});

describe('bad usage', () => {
  async function capture(tuple: string): Promise<[string[], BurstcapResult]> {
    const args = ['capture', '--file-prefix', (listPrimary as Testpmd).prefix, '-a', '1', '--pdump', tuple];
    return [args, await runBurstcap(args)];
  }

  it('rejects a port the primary does not have', async () => {
    const [args, r] = await capture(`port=7,queue=*,rx-dev=${out('bad.pcap')}`);
    expectUsageError(args, r, /port=7 does not exist/);
  });

  it("rejects a queue beyond the port's queues", async () => {
    const [args, r] = await capture(`port=0,queue=${LIST_RXQ},rx-dev=${out('bad.pcap')}`);
    expectUsageError(args, r, new RegExp(`queue ${LIST_RXQ}\\b`));
  });

  it('rejects an output directory that does not exist', async () => {
    const missing = out('no-such-dir');
    const [args, r] = await capture(`port=0,queue=*,rx-dev=${join(missing, 'rx.pcap')}`);
    expectUsageError(args, r, new RegExp(`${missing}.* does not exist`));
  });
});

describe('stopping and repeating captures', () => {
  it("takes dpdk-pdump's command line (burstcap pdump) and stops on SIGINT like it", async () => {
    const rx = out('pdump-rx.pcap');
    const tx = out('pdump-tx.pcap');
    const args = ['pdump', '-l', '1', '--file-prefix', (replay as Testpmd).prefix, '--', '--pdump', `port=0,queue=*,rx-dev=${rx},tx-dev=${tx}`];
    const bc = Burstcap.spawn(args);
    await replayOnce(bc);
    bc.signal('SIGINT');
    const r = await bc.exit();

    expect(r.code, describeResult(args, r)).toBe(0);
    expect(errorLines(r.stderr)).toEqual([]);
    // -l 1 names a lcore the primary polls on: burstcap must have picked another id.
    const lcore = Number(LCORE_LINE.exec(r.stderr)?.[1]);
    expect(PRIMARY_LCORES).not.toContain(lcore);
    expectReplayed(rx, tx);
  });

  it('SIGINT ends a capture with exit 0 and complete, valid files', async () => {
    const rx = out('int-rx.pcap');
    const tx = out('int-tx.pcap');
    const json = out('int.json');
    const args = [
      'capture',
      '--file-prefix',
      (replay as Testpmd).prefix,
      '--json',
      json,
      '--pdump',
      `port=0,queue=*,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
    ];
    const bc = Burstcap.spawn(args);
    await replayOnce(bc);
    bc.signal('SIGINT');
    const r = await bc.exit();

    expect(r.code, describeResult(args, r)).toBe(0);
    expect(errorLines(r.stderr)).toEqual([]);
    expectReplayed(rx, tx);
    expect(readSummary(json)).toMatchObject({ stop_reason: 'signal', packets: 2 * PACKETS, dropped: 0, errors: [] });
  });

  it('runs three captures back to back on one primary, each starting right after the previous one ends', async () => {
    for (let round = 0; round < BACK_TO_BACK_ROUNDS; round++) {
      const rx = out(`b2b${round}-rx.pcap`);
      const tx = out(`b2b${round}-tx.pcap`);
      const json = out(`b2b${round}.json`);
      // -c ends each capture as soon as both directions hold the whole replay.
      const args = [
        'capture',
        '--file-prefix',
        (replay as Testpmd).prefix,
        '-c',
        String(2 * PACKETS),
        '--json',
        json,
        '--pdump',
        `port=0,queue=*,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
      ];
      const bc = Burstcap.spawn(args);
      await replayOnce(bc);
      const r = await bc.exit();

      const what = `round ${round}: ${describeResult(args, r)}`;
      expect(r.code, what).toBe(0);
      expect(errorLines(r.stderr), what).toEqual([]);
      expect(r.stderr, what).not.toMatch(/exists/i);
      expectReplayed(rx, tx);
      const summary = readSummary(json);
      expect(summary, what).toMatchObject({ stop_reason: 'count', packets: 2 * PACKETS, dropped: 0, errors: [] });
      expect(summary.ports, what).toEqual([{ port: 0, accepted: 2 * PACKETS, filtered: 0, nombuf: 0, ringfull: 0 }]);
    }
  });
});

// Outputs written by hotplugged net_pcap vdevs, the way dpdk-pdump writes
// them: pcap files (--writer vdev) and a network interface (a veth pair whose
// far end sits in a namespace made here, read back with tcpdump). A vdev
// hotplugged into testpmd makes it refuse `start`, so these tests use a
// primary that forwards from the beginning and a feeder that sends it the
// known packets once the capture runs.
import { existsSync, mkdirSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, describeResult, errorLines, killAllBurstcaps, readSummary, type BurstcapResult } from '../helpers/burstcap';
import {
  FedPrimary,
  assertNothingLeft,
  framesDifference,
  framesOf,
  pollUntil,
  removeDir,
  shortTempDir,
  stopWhenForwarded,
  writeInput,
} from '../helpers/capture';
import { makePackets } from '../helpers/packets';
import { readPcap, tcpdumpLines } from '../helpers/pcap';
import { NetnsTcpdump, createVethPair, linkExists, netnsExists, removeVethPair, type VethPair } from '../helpers/netns';

const PACKETS = 300;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
const ARRIVAL_TIMEOUT_MS = 10_000;
/** Bytes 6-11 of an Ethernet frame: the source MAC. */
const SRC_MAC_OFFSET = 6;
const MAC_LEN = 6;
const PERMISSIONS = 0o777;
const modeOf = (file: string): string => (statSync(file).mode & PERMISSIONS).toString(8).padStart(4, '0');

/** Files burstcap's own process holds open (net_pcap writes from it), by their paths. */
function openFiles(pid: number): string[] {
  const fdDir = `/proc/${pid}/fd`;
  return readdirSync(fdDir).flatMap((fd) => {
    try {
      return [readlinkSync(join(fdDir, fd))];
    } catch {
      return [];
    }
  });
}

let workDir: string;
let frames: Buffer[] = [];
let input: string;
const fed: FedPrimary[] = [];
const veths: VethPair[] = [];
const tcpdumps: NetnsTcpdump[] = [];

async function startFedPrimary(): Promise<FedPrimary> {
  const f = await FedPrimary.start(workDir, input);
  fed.push(f);
  return f;
}

/** Captures with `args` while the feeder sends the input once; stops it once the primary sent it all. */
async function captureFed(primary: FedPrimary, args: string[]): Promise<BurstcapResult> {
  const bc = Burstcap.spawn(args, { cwd: workDir });
  await bc.waitCapturing();
  await primary.feed();
  return stopWhenForwarded(bc, () => primary.waitForwarded(frames.length));
}

/** Exit 0 and no error line; soft, so that the files are still checked when it fails. */
function expectCleanExit(args: readonly string[], r: BurstcapResult): void {
  expect.soft(r.code, describeResult(args, r)).toBe(0);
  expect.soft(errorLines(r.stderr), describeResult(args, r)).toEqual([]);
}

/** The vdevs burstcap hotplugged are gone from the primary once it exited. */
async function expectVdevsRemoved(primary: FedPrimary): Promise<void> {
  const summary = await primary.primary.command('show port summary all');
  expect.soft(summary, 'ports left in the primary').toMatch(/Number of available ports: 1\b/);
}

function srcMacFilter(): string[] {
  const mac = [...(frames[0] as Buffer).subarray(SRC_MAC_OFFSET, SRC_MAC_OFFSET + MAC_LEN)].map((b) => b.toString(16).padStart(2, '0'));
  return ['ether', 'src', mac.join(':')];
}

/** Records tcpdump has written so far; a record it is still writing does not count. */
function recordsSoFar(path: string): number {
  try {
    return readPcap(path).records.length;
  } catch {
    return 0;
  }
}

/** Sends the input to an interface through burstcap and returns the frames tcpdump saw on the other end. */
async function captureToInterface(pair: VethPair, tag: string): Promise<Buffer[]> {
  const primary = await startFedPrimary();
  const seen = join(workDir, `${tag}-seen.pcap`);
  // Only our frames: the kernel may send its own (IPv6 neighbour discovery) on a fresh link.
  const td = await NetnsTcpdump.start(pair.ns, pair.far, seen, srcMacFilter());
  tcpdumps.push(td);
  const json = join(workDir, `${tag}.json`);
  const args = ['capture', '--file-prefix', primary.primary.prefix, '--json', json, '--pdump', `port=0,queue=*,tx-dev=${pair.near},${SMALL_POOL}`];
  const result = await captureFed(primary, args);
  const arrived = (): true | undefined => (recordsSoFar(seen) >= frames.length ? true : undefined);
  // A shortfall is reported by the comparison of the frames, with a better message.
  await pollUntil(arrived, ARRIVAL_TIMEOUT_MS, `${frames.length} packets on ${pair.far}`).catch(() => undefined);
  await td.stop();
  expectCleanExit(args, result);
  await expectVdevsRemoved(primary);
  return framesOf(seen);
}

beforeAll(() => {
  workDir = shortTempDir();
  frames = makePackets(PACKETS);
  input = writeInput(workDir, 'in.pcap', frames);
});

afterEach(async () => {
  await killAllBurstcaps();
  await Promise.all(tcpdumps.splice(0).map((td) => td.stop()));
  for (const pair of veths.splice(0)) removeVethPair(pair);
  await Promise.all(fed.map((f) => f.stop()));
});

afterAll(() => {
  removeDir(workDir);
  assertNothingLeft(fed.flatMap((f) => [f.primary, f.feeder]));
});

describe('outputs written through net_pcap vdevs', () => {
  it('--writer vdev writes rx and tx files equal to the input', async () => {
    const primary = await startFedPrimary();
    const rx = join(workDir, 'vdev-rx.pcap');
    const tx = join(workDir, 'vdev-tx.pcap');
    const json = join(workDir, 'vdev.json');
    const args = [
      'capture',
      '--file-prefix',
      primary.primary.prefix,
      '--writer',
      'vdev',
      '--json',
      json,
      '--pdump',
      `port=0,queue=*,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
    ];
    const result = await captureFed(primary, args);
    expectCleanExit(args, result);
    await expectVdevsRemoved(primary);

    // net_pcap stamps packets when it writes them: only bytes and order are compared.
    expect(framesDifference(framesOf(rx), frames), rx).toBeUndefined();
    expect(framesDifference(framesOf(tx), frames), tx).toBeUndefined();
    expect(tcpdumpLines(rx)).toHaveLength(PACKETS);
    expect(tcpdumpLines(tx)).toHaveLength(PACKETS);
    expect(readSummary(json)).toMatchObject({ packets: 2 * PACKETS, dropped: 0, errors: [] });
    // net_pcap creates files 0666 less the umask; burstcap makes them private first.
    expect([modeOf(rx), modeOf(tx), modeOf(json)]).toEqual(['0600', '0600', '0600']);
  });

  it('--writer vdev stages a long path in a private directory under /tmp, gone once the file is in place', async () => {
    const primary = await startFedPrimary();
    // tx_pcap=<path> longer than the 63 characters DPDK passes on to secondaries.
    const dir = join(workDir, 'a-directory-name-long-enough-to-need-staging');
    mkdirSync(dir);
    const rx = join(dir, 'rx.pcap');
    const args = ['capture', '--file-prefix', primary.primary.prefix, '--writer', 'vdev', '--pdump', `port=0,queue=0,rx-dev=${rx},${SMALL_POOL}`];
    const bc = Burstcap.spawn(args, { cwd: workDir });
    await bc.waitCapturing();
    const staged = openFiles(bc.pid).filter((f) => /^\/tmp\/bc[^/]+\/\d+\.pcap$/.test(f));
    expect(staged, 'the staged file net_pcap writes').toHaveLength(1);
    const stagingDir = join(staged[0]!, '..');
    const stagingModes = [modeOf(stagingDir), modeOf(staged[0]!)];
    await primary.feed();
    const result = await stopWhenForwarded(bc, () => primary.waitForwarded(frames.length));
    expectCleanExit(args, result);

    expect(stagingModes).toEqual(['0700', '0600']);
    expect(existsSync(stagingDir), `${stagingDir} is left`).toBe(false);
    expect(modeOf(rx)).toBe('0600');
    expect(framesDifference(framesOf(rx), frames), rx).toBeUndefined();
  });

  it('sends the tx packets to a network interface (tx-dev=<veth>)', async () => {
    const pair = createVethPair(`${process.pid}`);
    veths.push(pair);
    const received = await captureToInterface(pair, 'veth');

    expect(framesDifference(received, frames)).toBeUndefined();
  });

  it('treats an interface without any IP address as an interface, not as a file name', async () => {
    const pair = createVethPair(`${process.pid}n`, { ipv6: false });
    veths.push(pair);
    const received = await captureToInterface(pair, 'bare');

    expect(readdirSync(workDir)).not.toContain(pair.near);
    expect(framesDifference(received, frames)).toBeUndefined();
  });
});

describe('clean-up', () => {
  it('leaves no namespace or veth behind', () => {
    for (const tag of [`${process.pid}`, `${process.pid}n`]) {
      expect(netnsExists(`bc${tag}`)).toBe(false);
      expect(linkExists(`bc${tag}a`)).toBe(false);
    }
  });
});

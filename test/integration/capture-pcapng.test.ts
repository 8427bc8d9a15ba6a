// pcapng outputs against a paced primary sending sequence-numbered known
// frames: tshark reads them; the test's own reader (test/helpers/pcap.ts)
// finds one interface per port with its name, driver and MAC, every packet
// byte-identical to the frame sent, its direction and queue in the EPB, and
// statistics blocks equal to the --json summary's counters. A file holding
// rx and tx of a port (merged from two rings) and files written directly by
// one worker each are both checked.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, EXIT_OK, readSummary, runBurstcap, type SummaryJson } from '../helpers/burstcap';
import { firstGap, knownFrame, startPacedPrimary, stopPacedPrimary, type PacedPrimary } from '../helpers/burstcap-faults';
import { pcapngString, readPcapng, type PcapngFile } from '../helpers/pcap';

const PPS = 2000;
const SIZE = 128;
const CAPTURE_S = '2';
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
const SEQ_OFFSET = 42;
const INBOUND = 1;
const OUTBOUND = 2;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_MACADDR = 6;
const IF_TSRESOL = 9;
const SHB_USERAPPL = 4;
const OPT_COMMENT = 1;
const SHB = 0x0a0d0d0a;
const IDB = 1;
const ISB = 5;

let paced: PacedPrimary;

beforeAll(async () => {
  paced = await startPacedPrimary(PPS, SIZE);
});
afterAll(async () => {
  await stopPacedPrimary(paced);
});

function seqOf(data: Buffer): number {
  return Number(data.readBigUInt64BE(SEQ_OFFSET));
}

/** Every packet is the frame the primary sent for its sequence number, whole. */
function expectKnown(f: PcapngFile, file: string): void {
  for (const [i, p] of f.packets.entries()) {
    expect(p.caplen, `${file} packet ${i}`).toBe(p.origlen);
    const seq = seqOf(p.data);
    if (!p.data.equals(knownFrame(seq, p.caplen))) throw new Error(`${file}: packet ${i} (seq ${seq}) differs from the frame sent`);
  }
}

function tsharkFields(file: string, fields: string[]): string[][] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark -r ${file} failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

async function capture(pdump: string, json: string): Promise<SummaryJson> {
  const args = ['capture', '--file-prefix', paced.primary.prefix, '-q', '-a', CAPTURE_S, '--json', json, '--pdump', `${pdump},${SMALL_POOL}`];
  const r = await runBurstcap(args);
  expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
  return readSummary(json);
}

describe('pcapng outputs', () => {
  it('rx and tx of a port in one file: one interface, directions and queue from the EPB, statistics equal to the summary', async () => {
    const file = join(paced.dir, 'both.pcapng');
    const summary = await capture(`port=0,queue=0,rx-dev=${file},tx-dev=${file}`, join(paced.dir, 'both.json'));
    const rx = summary.outputs.find((o) => o.direction === 'rx')!;
    const tx = summary.outputs.find((o) => o.direction === 'tx')!;
    expect(rx.packets).toBeGreaterThan(PPS);
    expect(summary.dropped).toBe(0);

    const f = readPcapng(file);
    expect(f.blockTypes[0]).toBe(SHB);
    expect(f.blockTypes[1]).toBe(IDB);
    expect(f.blockTypes.at(-1)).toBe(ISB);
    expect(pcapngString(f.sectionOptions, SHB_USERAPPL)).toMatch(/^burstcap \d+\.\d+\.\d+/);
    expect(pcapngString(f.sectionOptions, OPT_COMMENT)).toMatch(/primary: DPDK \d+\.\d+.*pid \d+, command: .*primary/);
    expect(f.interfaces).toHaveLength(1);
    const idb = f.interfaces[0]!;
    expect(pcapngString(idb.options, IF_NAME)).toBe('net_ring0');
    expect(pcapngString(idb.options, IF_DESCRIPTION)).toBe('net_ring');
    expect(idb.options.find((o) => o.code === IF_MACADDR)?.value.length).toBe(6);
    expect(idb.options.find((o) => o.code === IF_TSRESOL)?.value[0]).toBe(9);

    expectKnown(f, file);
    const inbound = f.packets.filter((p) => p.flags === INBOUND);
    const outbound = f.packets.filter((p) => p.flags === OUTBOUND);
    expect(inbound.length + outbound.length).toBe(f.packets.length);
    expect(inbound.length).toBe(rx.packets);
    expect(outbound.length).toBe(tx.packets);
    expect(f.packets.every((p) => p.queue === 0 && p.interfaceId === 0)).toBe(true);
    // Capture-time order across both directions; each direction gap-free.
    for (let i = 1; i < f.packets.length; i++) expect(f.packets[i]!.tsNs >= f.packets[i - 1]!.tsNs, `packet ${i} earlier than ${i - 1}`).toBe(true);
    expect(firstGap(inbound.map((p) => seqOf(p.data)))).toBe(-1);
    expect(firstGap(outbound.map((p) => seqOf(p.data)))).toBe(-1);

    const port = summary.ports.find((p) => p.port === 0)!;
    expect(f.stats).toHaveLength(1);
    const st = f.stats[0]!;
    expect(st.ifdrop).toBe(BigInt(rx.nombuf + rx.ringfull + tx.nombuf + tx.ringfull));
    expect(st.filteraccept).toBe(BigInt(port.accepted + port.nombuf + port.ringfull));
    expect(st.ifrecv).toBe(BigInt(port.accepted + port.filtered + port.nombuf + port.ringfull));
    expect(st.filteraccept).toBe(BigInt(f.packets.length));
    expect(st.starttime! < f.packets[0]!.tsNs && st.endtime! > f.packets.at(-1)!.tsNs).toBe(true);

    // tshark agrees on the count, the directions and the queue.
    const rows = tsharkFields(file, ['frame.interface_id', 'frame.packet_flags_direction', 'frame.interface_queue']);
    expect(rows).toHaveLength(f.packets.length);
    expect(rows.filter((r) => r[1] === '1' || r[1] === '0x1' || r[1] === '0x00000001').length).toBe(rx.packets);
    expect(rows.filter((r) => r[1] === '2' || r[1] === '0x2' || r[1] === '0x00000002').length).toBe(tx.packets);
    expect(rows.every((r) => r[0] === '0' && r[2] === '0')).toBe(true);
  });

  it("files written by one worker each: their own statistics block, equal to that ring's counters", async () => {
    const rxFile = join(paced.dir, 'rx.pcapng');
    const txFile = join(paced.dir, 'tx.pcap');
    const summary = await capture(`port=0,queue=0,rx-dev=${rxFile},tx-dev=${txFile}`, join(paced.dir, 'direct.json'));
    const rx = summary.outputs.find((o) => o.direction === 'rx')!;
    const f = readPcapng(rxFile);
    expectKnown(f, rxFile);
    expect(f.packets.length).toBe(rx.packets);
    expect(f.packets.every((p) => p.flags === INBOUND && p.queue === 0)).toBe(true);
    expect(firstGap(f.packets.map((p) => seqOf(p.data)))).toBe(-1);
    const port = summary.ports.find((p) => p.port === 0)!;
    const st = f.stats[0]!;
    expect(f.stats).toHaveLength(1);
    expect(st.ifdrop).toBe(BigInt(rx.nombuf + rx.ringfull));
    // One ring per direction: the port's accepted count is rx's and tx's.
    expect(st.filteraccept).toBe(BigInt(rx.packets + rx.nombuf + rx.ringfull));
    expect(st.ifrecv! <= BigInt(port.accepted + port.filtered + port.nombuf + port.ringfull)).toBe(true);
    expect(st.ifrecv).toBe(st.filteraccept);
    expect(tsharkFields(rxFile, ['frame.interface_id'])).toHaveLength(rx.packets);
    // --format pcap (the default) keeps a .pcap path pcap.
    const magic = spawnSync('head', ['-c', '4', txFile]).stdout as Buffer;
    expect(magic.readUInt32LE(0)).toBe(0xa1b23c4d);
  });
});

// -f: the primary tests each packet against the filter before it copies it.
// Each expression below is compiled by libpcap, converted and checked
// against libpcap by burstcap, loaded by the primary, and must then keep
// either every frame of the paced primary (UDP 192.0.2.1:9 -> 192.0.2.2:9,
// 64 bytes) or none of them. The byte-exact checks on mixed TCP and UDP
// traffic are in capture-exact.test.ts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, errorLines, readSummary, runBurstcap } from '../helpers/burstcap';
import { readKnownCapture, startPacedPrimary, stopPacedPrimary } from '../helpers/burstcap-faults';
import type { FixturePrimary } from '../helpers/fixture-primary';

const PACED_PPS = 20_000;
const FRAME_BYTES = 64;
const CAPTURE_SECONDS = 0.3;
const POOL = 'ring-size=4096,total-num-mbufs=8191';

const KEEP_ALL = [
  'udp port 9',
  'host 192.0.2.1 and dst host 192.0.2.2',
  'net 192.0.2.0/24',
  'ether src 02:00:00:00:00:01',
  'udp[0:2] = 9', // indirect halfword load
  'udp[3] = 9', // indirect byte load
  'udp[8:4] = 0', // indirect word load: the sequence number's high half
  `ip[9] = 17 and len = ${FRAME_BYTES}`,
  'not tcp',
];
const KEEP_NONE = ['tcp', 'tcp[tcpflags] & tcp-syn != 0', 'ip[6:2] & 0x1fff != 0', 'ip6 or arp or vlan', `greater ${FRAME_BYTES + 1}`, 'udp port 53'];

describe('capture filters (-f)', () => {
  let dir: string;
  let primary: FixturePrimary | undefined;

  beforeAll(async () => {
    ({ primary, dir } = await startPacedPrimary(PACED_PPS, FRAME_BYTES));
  });

  afterAll(() => stopPacedPrimary({ primary, dir }));

  async function captureWith(filter: string, tag: string): Promise<{ packets: number; filtered: number; file: string }> {
    const file = join(dir, `${tag}.pcap`);
    const json = join(dir, `${tag}.json`);
    const args = [
      'capture',
      '--file-prefix',
      primary!.prefix,
      '-q',
      '-a',
      String(CAPTURE_SECONDS),
      '--json',
      json,
      '-f',
      filter,
      '--pdump',
      `port=0,queue=0,rx-dev=${file},${POOL}`,
    ];
    const result = await runBurstcap(args);
    expect(result.code, describeResult(args, result)).toBe(0);
    expect(errorLines(result.stderr)).toEqual([]);
    const summary = readSummary(json);
    return { packets: summary.packets, filtered: summary.ports[0]!.filtered, file };
  }

  it.each(KEEP_ALL.map((f, i) => [f, i] as const))('%s keeps every frame', async (filter, i) => {
    const got = await captureWith(filter, `all-${i}`);
    expect(got.packets).toBeGreaterThan(0);
    expect(got.filtered).toBe(0);
    expect(readKnownCapture(got.file).packets).toBe(got.packets);
  });

  it.each(KEEP_NONE.map((f, i) => [f, i] as const))('%s keeps no frame', async (filter, i) => {
    const got = await captureWith(filter, `none-${i}`);
    expect(got.packets).toBe(0);
    expect(got.filtered).toBeGreaterThan(0);
  });
});

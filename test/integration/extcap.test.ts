// burstcap as Wireshark's extcap, driven by the real tshark: --install puts
// a launcher where tshark looks (a temporary HOME, so the user's own
// folder is never touched), tshark -D lists the fixture primary's port, and
// tshark -i captures through it, stopping it with SIGTERM as Wireshark does.
// After each capture the primary holds nothing of it.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, EXIT_OK, runBurstcap } from '../helpers/burstcap';
import { knownFrameSeq, memoryProblem, primaryMemory, type PrimaryMemory } from '../helpers/burstcap-faults';
import { pollUntil, removeDir, shortTempDir } from '../helpers/capture';
import { FixturePrimary } from '../helpers/fixture-primary';
import { readPcapng } from '../helpers/pcap';

const RATE = 2_000;
const CAPTURE_S = 3;
const TSHARK_TIMEOUT_MS = 60_000;
const TEARDOWN_TIMEOUT_MS = 20_000;
/** rx and tx of the fixture's one queue: the pdump callback structs the primary cannot free. */
const CALLBACKS_BOTH = 2;
/** epb_flags bits 0-1: 1 inbound, 2 outbound. */
const DIRECTION_MASK = 3;
const INBOUND = 1;
const OUTBOUND = 2;
/** The fixture's frames: 60 bytes unless told otherwise. */
const FRAME_LEN = 60;
const SNAPLEN = 48;

interface TsharkResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** tshark with the temporary HOME; its root warning on stderr is expected (this machine runs tests as root). */
function tshark(home: string, args: readonly string[]): Promise<TsharkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('tshark', args, { env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), TSHARK_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Pids of extcap captures of this interface still running (tshark does not wait for their teardown). */
function extcapCaptures(iface: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv.includes('--capture') && argv.includes(iface);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** What Wireshark shows as the capture's failure: everything the extcap wrote on stderr. */
const EXTCAP_ERROR = /Error by extcap pipe/;

async function waitCaptureGone(iface: string): Promise<void> {
  await pollUntil(() => (extcapCaptures(iface).length === 0 ? true : undefined), TEARDOWN_TIMEOUT_MS, `the extcap capture of ${iface} to end`);
}

describe('burstcap extcap with tshark', () => {
  let dir: string;
  let home: string;
  let primary: FixturePrimary;
  let iface: string;
  let before: PrimaryMemory;

  beforeAll(async () => {
    dir = shortTempDir();
    home = join(dir, 'home');
    primary = await FixturePrimary.start({ rate: RATE, known: true });
    iface = `dpdk:${primary.prefix}:0`;
    before = primaryMemory(primary.prefix);
  });

  afterAll(async () => {
    for (const pid of extcapCaptures(iface)) process.kill(pid, 'SIGKILL');
    await primary?.stop();
    removeDir(dir);
  });

  it('--install writes a launcher into the personal extcap folder tshark names, and says where', async () => {
    const args = ['extcap', '--install'];
    const r = await runBurstcap(args, { env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
    const folders = await tshark(home, ['-G', 'folders']);
    const personal =
      /^Personal Extcap path:\s*(.+)$/m.exec(folders.stdout)?.[1] ?? join(/^Personal configuration:\s*(.+)$/m.exec(folders.stdout)![1]!, 'extcap');
    const launcher = join(personal.trim(), 'burstcap');
    expect(r.stdout).toContain(`installed ${launcher}`);
    expect(statSync(launcher).mode & 0o111, 'the launcher is executable').toBe(0o111);
    // Installing again replaces its own launcher.
    const again = await runBurstcap(args, { env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(again.code, describeResult(args, again)).toBe(EXIT_OK);
  });

  it('tshark -D lists the primary as dpdk:<prefix>:<port>, without touching it', async () => {
    const r = await tshark(home, ['-D']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^\\d+\\. ${iface} \\(DPDK port 0 \\(net_ring0\\) of --file-prefix ${primary.prefix}\\)$`, 'm'));
    expect(memoryProblem(primary.prefix, before, primaryMemory(primary.prefix), 0)).toBeUndefined();
  });

  it('tshark -i captures rx and tx of the port into pcapng, stops it with SIGTERM, and the primary is left clean', async () => {
    const out = join(dir, 'both.pcapng');
    const r = await tshark(home, ['-i', iface, '-a', `duration:${CAPTURE_S}`, '-w', out]);
    expect(r.code, r.stderr).toBe(0);
    // Wireshark closing the pipe and its SIGTERM are how a capture ends, not errors to show.
    expect(r.stderr).not.toMatch(EXTCAP_ERROR);
    await waitCaptureGone(iface);
    const file = readPcapng(out);
    expect(file.interfaces[0]?.linktype).toBe(1);
    const inbound = file.packets.filter((p) => ((p.flags ?? 0) & DIRECTION_MASK) === INBOUND);
    const outbound = file.packets.filter((p) => ((p.flags ?? 0) & DIRECTION_MASK) === OUTBOUND);
    // The fixture sends RATE packets a second through its ring port: each is seen leaving and arriving.
    expect(inbound.length).toBeGreaterThan(RATE);
    expect(outbound.length).toBeGreaterThan(RATE);
    expect(inbound.length + outbound.length).toBe(file.packets.length);
    const seqs = inbound.map((p) => knownFrameSeq(p.data));
    expect(seqs.filter((s) => s === undefined).length, 'frames that differ from what the primary sent').toBe(0);
    // One queue, one direction: in order, without a gap.
    const gap = seqs.findIndex((s, i) => i > 0 && s !== seqs[i - 1]! + 1);
    expect(gap, `rx seqs ${seqs.slice(Math.max(0, gap - 2), gap + 2).join(',')}`).toBe(-1);
    expect(memoryProblem(primary.prefix, before, primaryMemory(primary.prefix), CALLBACKS_BOTH)).toBeUndefined();
  });

  it('the capture filter is the primary-side filter: tcp matches none of the fixture UDP frames', async () => {
    const memory = primaryMemory(primary.prefix);
    const out = join(dir, 'tcp.pcapng');
    const r = await tshark(home, ['-i', iface, '-f', 'tcp', '-a', `duration:${CAPTURE_S}`, '-w', out]);
    expect(r.code, r.stderr).toBe(0);
    await waitCaptureGone(iface);
    expect(readPcapng(out).packets.length).toBe(0);
    expect(memoryProblem(primary.prefix, memory, primaryMemory(primary.prefix), CALLBACKS_BOTH)).toBeUndefined();
  });

  it('takes the options of --extcap-config as tshark preferences: rx only, cut to the snaplen', async () => {
    const memory = primaryMemory(primary.prefix);
    const out = join(dir, 'rx.pcapng');
    const pref = `extcap.${iface.replace(/[^a-zA-Z0-9]/g, '_').toLowerCase()}`;
    const r = await tshark(home, ['-o', `${pref}.direction:rx`, '-o', `${pref}.snaplen:${SNAPLEN}`, '-i', iface, '-c', '50', '-w', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(EXTCAP_ERROR);
    await waitCaptureGone(iface);
    const packets = readPcapng(out).packets;
    expect(packets.length).toBe(50);
    expect(packets.filter((p) => ((p.flags ?? 0) & DIRECTION_MASK) !== INBOUND).length, 'packets not marked inbound').toBe(0);
    expect(new Set(packets.map((p) => `${p.caplen}/${p.origlen}`))).toEqual(new Set([`${SNAPLEN}/${FRAME_LEN}`]));
    // One direction of one queue: one callback.
    expect(memoryProblem(primary.prefix, memory, primaryMemory(primary.prefix), 1)).toBeUndefined();
  });

  it('tshark -c stops the capture after that many packets', async () => {
    const out = join(dir, 'count.pcapng');
    const r = await tshark(home, ['-i', iface, '-c', '100', '-w', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(EXTCAP_ERROR);
    await waitCaptureGone(iface);
    expect(readPcapng(out).packets.length).toBe(100);
    const c = spawnSync('capinfos', ['-t', '-c', out], { encoding: 'utf8' });
    expect(c.stdout).toMatch(/pcapng/i);
  });
});

/**
 * `burstcap demo`: the whole job on a primary it starts itself. testpmd
 * replays known packets on two rx queues of one port and forwards them back
 * out; burstcap captures rx and tx of both queues, and the demo checks the
 * files against what was replayed, byte for byte.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runtimeError } from '../../core/errors';
import { CLI_SCRIPT } from '../../core/paths';
import { pcapOf, demoFrame } from '../../demo/traffic';
import { PrimaryProcess } from '../../primary/launch';
import { readPackets } from '../../pcap/reader';

const FRAMES_PER_QUEUE = 1000;
const QUEUES = 2;
const PROMPT = /testpmd> $/m;

export interface DemoCommand {
  durationS: number;
  keep: boolean;
}

function sameFrames(file: string, expected: Map<string, number>): { packets: number; matched: number } {
  let packets = 0;
  let matched = 0;
  const left = new Map(expected);
  for (const p of readPackets(file)) {
    packets++;
    const key = p.data.toString('hex');
    const n = left.get(key) ?? 0;
    if (n > 0) {
      matched++;
      left.set(key, n - 1);
    }
  }
  return { packets, matched };
}

function runCapture(args: string[], cwd: string, onCapturing: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_SCRIPT, 'capture', ...args], { stdio: ['ignore', 'inherit', 'pipe'], cwd });
    let seen = false;
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      if (!seen && d.toString().includes('Capturing on')) {
        seen = true;
        onCapturing();
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function tcpdump(file: string, count: number): string {
  const r = spawnSync('tcpdump', ['-nn', '-tttt', '-r', file, '-c', String(count)], { encoding: 'utf8' }) as {
    stdout: string;
    stderr: string;
    status: number | null;
  };
  return r.status === 0 ? r.stdout : `(tcpdump failed: ${r.stderr.trim()})\n`;
}

export async function runDemoCommand(cmd: DemoCommand): Promise<number> {
  // Short names: DPDK (22.11 and 24.11) hands a vdev's arguments to secondaries cut at
  // 63 characters, so the primary and the capture both use relative paths.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burstcap-demo-'));
  const prefix = `burstcap_demo_${process.pid}`;
  const expected = new Map<string, number>();
  const inputs: string[] = [];
  for (let q = 0; q < QUEUES; q++) {
    const frames = Array.from({ length: FRAMES_PER_QUEUE }, (_, i) => demoFrame(i, q));
    for (const f of frames) expected.set(f.toString('hex'), (expected.get(f.toString('hex')) ?? 0) + 1);
    const file = `in${q}.pcap`;
    fs.writeFileSync(path.join(dir, file), pcapOf(frames));
    inputs.push(file);
  }
  const total = FRAMES_PER_QUEUE * QUEUES;
  process.stderr.write(`demo: starting dpdk-testpmd (--file-prefix ${prefix}) replaying ${total} known packets on 2 rx queues of net_pcap0\n`);
  const vdev = `net_pcap0,${inputs.map((f) => `rx_pcap=${f}`).join(',')}`;
  const primary = await PrimaryProcess.start({
    command: 'dpdk-testpmd',
    args: [
      '-l',
      '0-1',
      '--no-pci',
      '--file-prefix',
      prefix,
      '--vdev',
      vdev,
      '--',
      '-i',
      `--rxq=${QUEUES}`,
      `--txq=${QUEUES}`,
      '--nb-cores=1',
      '--port-topology=loop',
      '--no-flush-rx',
      '--total-num-mbufs=16384',
    ],
    prefix,
    ready: PROMPT,
    cwd: dir,
  });
  let code: number;
  try {
    const rx = path.join(dir, 'rx.pcap');
    const tx = path.join(dir, 'tx.pcap');
    const pdump = `port=0,queue=*,rx-dev=${rx},tx-dev=${tx}`;
    process.stderr.write(`demo: burstcap capture --file-prefix ${prefix} -a ${cmd.durationS} --pdump '${pdump}'\n\n`);
    code = await runCapture(['--file-prefix', prefix, '-a', String(cmd.durationS), '--pdump', pdump], dir, () => {
      void primary.request('start', PROMPT).catch(() => undefined);
    });
    if (code !== 0) throw runtimeError('DEMO_CAPTURE_FAILED', `the capture exited with status ${code}`);
    for (const [name, file] of [
      ['rx', rx],
      ['tx', tx],
    ] as const) {
      const r = sameFrames(file, expected);
      process.stdout.write(`\n${name}: ${file} holds ${r.packets} packets; ${r.matched} of the ${total} replayed packets, byte-identical\n`);
      process.stdout.write(tcpdump(file, 5));
      if (r.matched !== total || r.packets !== total) code = 1;
    }
    if (cmd.keep) process.stdout.write(`\nfiles kept in ${dir}\n`);
  } finally {
    await primary.stop();
    if (!cmd.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  return code;
}

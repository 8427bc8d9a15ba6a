/**
 * Micro-benchmarks of the parts of burstcap that do not need a primary: the
 * pcap writer against a plain write(2) of the same bytes (the limit any
 * writer can reach on that file system), tuple parsing, and the merge of
 * per-queue files.
 */
import Benchmark from 'benchmark';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { native } from '../src/main/core/native';
import { parseTuple } from '../src/main/options/tuple';
import { pcapOfPackets } from '../src/main/pcap/writer';

export interface MicroResult {
  name: string;
  rate: number;
  unit: string;
  /** Relative margin of error, in percent. */
  rme: number;
  samples: number;
}

export interface MicroReport {
  results: MicroResult[];
  /** Writer throughput over write(2) throughput, per frame size. */
  writer_vs_write: Record<string, number>;
}

export interface MicroOptions {
  dir: string;
  /** Seconds per benchmark. */
  maxTime: number;
}

/** An EPB's header and trailer as burstcap writes them: 28 + 8 (epb_flags) + 8 (epb_queue) + 4 + 4. */
const PCAPNG_RECORD_OVERHEAD = 52;
/** The native writer's own buffer size: write(2) gets the same chunks. */
const WRITE_CHUNK = 1 << 18;
const NS_STEP = 1000n;
const START_NS = 1_700_000_000_000_000_000n;
const MIN_SAMPLES = 3;
/**
 * ~64 MB per file, a second of capture at 1 Mpps of 64-byte frames: the
 * per-file costs (open, truncating the previous file, the writer's buffer)
 * weigh on both sides as they do in a capture, not as in a 1 MB file.
 */
const WRITER_CASES = [
  { frame: 64, records: 800_000 },
  { frame: 1500, records: 44_000 },
];
const MERGE_INPUTS = 4;
const MERGE_RECORDS = 50_000;
const MERGE_FRAME = 64;
const TUPLE = 'port=0,queue=*,rx-dev=/dev/shm/rx.pcap,tx-dev=/dev/shm/tx.pcap,ring-size=16384';

/** The bytes the writer produces for `frames` (each `frameSize` long), timestamps aside. */
export function pcapImage(frames: Buffer, frameSize: number): Buffer {
  const records = Math.floor(frames.length / frameSize);
  const packets = Array.from({ length: records }, (_, i) => frames.subarray(i * frameSize, (i + 1) * frameSize));
  return pcapOfPackets(packets, { nanos: true });
}

function distinctFrames(frameSize: number, count: number): Buffer {
  const frames = Buffer.alloc(frameSize * count, 0x5a);
  for (let i = 0; i < count; i++) frames.writeUInt32BE(i, i * frameSize);
  return frames;
}

function writeAll(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0; off < data.length; off += WRITE_CHUNK) fs.writeSync(fd, data, off, Math.min(WRITE_CHUNK, data.length - off));
  } finally {
    fs.closeSync(fd);
  }
}

function runSuite(suite: Benchmark.Suite): Promise<Benchmark.Target[]> {
  return new Promise((resolve, reject) => {
    const done: Benchmark.Target[] = [];
    suite.on('cycle', (e) => {
      if (e.target.error) reject(e.target.error instanceof Error ? e.target.error : new Error(inspect(e.target.error)));
      done.push(e.target);
    });
    suite.on('complete', () => resolve(done));
    suite.run({ async: true });
  });
}

function mergeInputs(dir: string): string[] {
  const frame = Buffer.alloc(MERGE_FRAME, 0xab);
  return Array.from({ length: MERGE_INPUTS }, (_, q) => {
    const file = path.join(dir, `micro-q${q}.pcap`);
    const w = new native.PcapFileWriter(file);
    // Interleaved timestamps: the merge must really interleave, not concatenate.
    w.writeFrames(frame, MERGE_FRAME, MERGE_RECORDS, START_NS + BigInt(q) * (NS_STEP / BigInt(MERGE_INPUTS)), NS_STEP);
    w.close();
    return file;
  });
}

export async function runMicroBenchmarks(opts: MicroOptions): Promise<MicroReport> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const unitOf = new Map<string, { unit: string; perOp: number }>();
  const suite = new Benchmark.Suite('burstcap');
  const options = { maxTime: opts.maxTime, minSamples: MIN_SAMPLES };
  const out = path.join(opts.dir, 'micro-out.pcap');
  const outNg = path.join(opts.dir, 'micro-out.pcapng');

  for (const c of WRITER_CASES) {
    // As many distinct frames as records: the writer reads them from memory
    // as cold as the image write(2) reads, as a capture reads its mbufs.
    const frames = distinctFrames(c.frame, c.records);
    const image = pcapImage(frames, c.frame);
    const writerName = `pcap writer, ${c.frame} B frames`;
    const writeName = `write(2) of the same bytes, ${c.frame} B frames`;
    unitOf.set(writerName, { unit: 'MB/s', perOp: image.length / 1e6 });
    unitOf.set(writeName, { unit: 'MB/s', perOp: image.length / 1e6 });
    suite.add(
      writerName,
      () => {
        const w = new native.PcapFileWriter(out);
        w.writeFrames(frames, c.frame, c.records, START_NS, NS_STEP);
        w.close();
      },
      options,
    );
    suite.add(writeName, () => writeAll(out, image), options);
    // The same frames as pcapng EPBs (28 B header, 24 B of flags, queue and
    // trailer, padding): more bytes per record, so MB/s of its own file.
    const ngName = `pcapng writer, ${c.frame} B frames`;
    const ngBytes = c.records * (c.frame + ((4 - (c.frame % 4)) % 4) + PCAPNG_RECORD_OVERHEAD);
    unitOf.set(ngName, { unit: 'MB/s', perOp: ngBytes / 1e6 });
    unitOf.set(`${ngName} (records)`, { unit: 'Mrec/s', perOp: c.records / 1e6 });
    suite.add(
      ngName,
      () => {
        const w = new native.PcapngFileWriter(outNg);
        w.writeFrames(frames, c.frame, c.records, START_NS, NS_STEP);
        w.close();
      },
      options,
    );
  }

  unitOf.set('parseTuple', { unit: 'tuples/s', perOp: 1 });
  suite.add(
    'parseTuple',
    () => {
      parseTuple(TUPLE);
    },
    options,
  );

  const inputs = mergeInputs(opts.dir);
  const mergeName = `mergePcaps, ${MERGE_INPUTS} files of ${MERGE_RECORDS} packets`;
  unitOf.set(mergeName, { unit: 'packets/s', perOp: MERGE_INPUTS * MERGE_RECORDS });
  let mergeError: unknown;
  suite.add(mergeName, {
    defer: true,
    fn: (deferred: Benchmark.Deferred) => {
      // A deferred benchmark cannot fail by itself: remember the error, end the cycle.
      native.mergePcaps(inputs, out).then(
        () => deferred.resolve(),
        (err: unknown) => {
          mergeError ??= err;
          deferred.resolve();
        },
      );
    },
    ...options,
  });

  try {
    const targets = await runSuite(suite);
    if (mergeError !== undefined) throw mergeError instanceof Error ? mergeError : new Error(inspect(mergeError));
    const results = targets.map((t) => {
      const u = unitOf.get(t.name) ?? { unit: 'ops/s', perOp: 1 };
      return { name: t.name, rate: t.hz * u.perOp, unit: u.unit, rme: t.stats.rme, samples: t.stats.sample.length };
    });
    const writerVsWrite: Record<string, number> = {};
    for (const c of WRITER_CASES) {
      const w = results.find((r) => r.name === `pcap writer, ${c.frame} B frames`);
      const p = results.find((r) => r.name === `write(2) of the same bytes, ${c.frame} B frames`);
      if (w && p && p.rate > 0) writerVsWrite[`${c.frame}B`] = w.rate / p.rate;
    }
    return { results, writer_vs_write: writerVsWrite };
  } finally {
    for (const f of [...inputs, out, outNg]) fs.rmSync(f, { force: true });
  }
}

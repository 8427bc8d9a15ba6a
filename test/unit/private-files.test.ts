// Captures hold other people's traffic: the native writer and the merge make
// their files 0600 unless asked for 0640, also when they overwrite an older
// file, and a temporary file must be new; the merge never takes a damaged
// part for its end, and leaves the parts alone when it fails.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { native } from '../../src/main/core/native';
import { currentUmask, makePrivateDir, outputMode, removePrivateDir, writePrivateFile } from '../../src/main/core/private-files';
import { Teardown } from '../../src/main/core/teardown';
import { makePackets } from '../helpers/packets';
import { FILE_HEADER_LEN, RECORD_HEADER_LEN, readPcap, writePcap } from '../helpers/pcap';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bc-private-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BASE_NS = 1_795_000_000_000_000_000n;
const PERMISSIONS = 0o777;
const modeOf = (file: string): number => fs.statSync(file).mode & PERMISSIONS;

let savedUmask: number;
beforeEach(() => {
  savedUmask = process.umask(0o022);
});
afterEach(() => {
  process.umask(savedUmask);
});

function writeWith(file: string, options?: { mode?: number; exclusive?: boolean }): void {
  const w = new native.PcapFileWriter(file, options);
  w.write(Buffer.alloc(60, 1), BASE_NS);
  w.close();
}

describe('file modes', () => {
  it('reads the umask without changing it', () => {
    process.umask(0o027);
    expect(currentUmask()).toBe(0o027);
    expect(outputMode(true)).toBe(0o640);
    process.umask(0o077);
    expect(outputMode(true)).toBe(0o600);
    expect(outputMode(false)).toBe(0o600);
    expect(currentUmask()).toBe(0o077);
  });

  it('the writer creates files 0600 by default and 0640 when asked', () => {
    const priv = path.join(dir, 'private.pcap');
    const group = path.join(dir, 'group.pcap');
    writeWith(priv);
    writeWith(group, { mode: 0o640 });
    expect(modeOf(priv)).toBe(0o600);
    expect(modeOf(group)).toBe(0o640);
  });

  it('an overwritten file ends up with the mode of a new one', () => {
    const file = path.join(dir, 'old.pcap');
    fs.writeFileSync(file, 'an older, world-readable file');
    fs.chmodSync(file, 0o666);
    writeWith(file);
    expect(modeOf(file)).toBe(0o600);
    expect(readPcap(file).records).toHaveLength(1);
  });

  // A device node of its own, made here, stands for /dev/null: if the mode
  // were forced on it, only this node would change.
  it.runIf(process.getuid?.() === 0)('leaves the mode of a device alone (writing to /dev/null as root)', () => {
    const dev = path.join(dir, 'null');
    execFileSync('mknod', ['-m', '666', dev, 'c', '1', '3']);
    writeWith(dev);
    writePrivateFile(dev, '{}', 0o600);
    expect(modeOf(dev)).toBe(0o666);
  });

  it('exclusive: refuses an existing file and a symlink, leaving both untouched', () => {
    const existing = path.join(dir, 'existing.part');
    fs.writeFileSync(existing, 'not yours');
    expect(() => writeWith(existing, { exclusive: true })).toThrow(/cannot open .*existing\.part.*File exists/);
    expect(fs.readFileSync(existing, 'utf8')).toBe('not yours');

    const target = path.join(dir, 'target');
    fs.writeFileSync(target, 'precious');
    const link = path.join(dir, 'link.part');
    fs.symlinkSync(target, link);
    expect(() => writeWith(link, { exclusive: true })).toThrow(/cannot open .*link\.part/);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious');

    const fresh = path.join(dir, 'fresh.part');
    writeWith(fresh, { exclusive: true, mode: 0o600 });
    expect(modeOf(fresh)).toBe(0o600);
  });

  it('the --json file is written with the mode, also over an older file', () => {
    const file = path.join(dir, 'summary.json');
    fs.writeFileSync(file, '{}');
    fs.chmodSync(file, 0o644);
    writePrivateFile(file, '{"packets":1}\n', 0o600);
    expect(modeOf(file)).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"packets":1}\n');
  });

  it('the merged file gets the mode asked for, 0600 by default', async () => {
    const a = path.join(dir, 'mode-a.pcap');
    writePcap(a, makePackets(3), { nanos: true });
    const out = path.join(dir, 'mode-merged.pcap');
    fs.writeFileSync(out, '');
    fs.chmodSync(out, 0o644);
    await native.mergePcaps([a], out);
    expect(modeOf(out)).toBe(0o600);
    await native.mergePcaps([a], out, { mode: 0o640 });
    expect(modeOf(out)).toBe(0o640);
  });
});

describe('private directories', () => {
  it('are 0700, and the teardown removes them after every other step, never when unwinding to a mark', async () => {
    const t = new Teardown();
    const order: string[] = [];
    t.push('detach', () => order.push('detach'));
    const attached = t.mark();
    const parts = makePrivateDir(dir, '.burstcap-');
    expect(fs.statSync(parts).mode & PERMISSIONS).toBe(0o700);
    t.pushFinal('remove the parts directory', () => {
      order.push('remove dir');
      removePrivateDir(parts);
    });
    t.push('close the files', () => order.push('close files'));
    // The session merges after this unwind: the parts must still be there.
    await t.unwindTo(attached);
    expect(order).toEqual(['close files']);
    expect(fs.existsSync(parts)).toBe(true);
    await t.run();
    expect(order).toEqual(['close files', 'detach', 'remove dir']);
    expect(fs.existsSync(parts)).toBe(false);
  });
});

describe('merge of damaged parts', () => {
  const frames = makePackets(6);

  /** A good part of `frames`, then `damage` applied to its bytes. */
  function part(name: string, damage: (b: Buffer) => Buffer): string {
    const file = path.join(dir, name);
    writePcap(file, frames, { nanos: true, startNs: BASE_NS });
    fs.writeFileSync(file, damage(fs.readFileSync(file)));
    return file;
  }
  /** Byte offset of record `i` (0-based) of such a part. */
  const recordAt = (i: number): number => FILE_HEADER_LEN + frames.slice(0, i).reduce((n, f) => n + RECORD_HEADER_LEN + f.length, 0);

  async function expectRejected(parts: string[], message: RegExp): Promise<void> {
    const before = parts.map((p) => fs.readFileSync(p));
    const out = path.join(dir, 'damaged-merged.pcap');
    await expect(native.mergePcaps(parts, out)).rejects.toMatchObject({
      name: 'BurstcapError',
      code: 'MERGE_INPUT_DAMAGED',
      message: expect.stringMatching(message),
    });
    // The merge never touches its inputs: the session keeps them after this failure.
    parts.forEach((p, i) => expect(fs.readFileSync(p).equals(before[i]!), p).toBe(true));
  }

  it('a part cut in the middle of a record', async () => {
    const good = part('good.part', (b) => b);
    const cut = part('cut.part', (b) => b.subarray(0, recordAt(5) + RECORD_HEADER_LEN + 10));
    await expectRejected([good, cut], /cut\.part ends inside record 6 .*10 of \d+ packet bytes.*torn/);
  });

  it('a part cut in the middle of a record header', async () => {
    const torn = part('torn-header.part', (b) => b.subarray(0, recordAt(3) + 7));
    await expectRejected([torn], /torn-header\.part ends inside the header of record 4 .*7 of 16 bytes/);
  });

  it('a record header with an absurd length', async () => {
    const good = part('good2.part', (b) => b);
    const garbage = part('garbage.part', (b) => {
      const copy = Buffer.from(b);
      copy.writeUInt32LE(0xfffffff0, recordAt(2) + 8);
      return copy;
    });
    await expectRejected([good, garbage], /garbage\.part record 3 .*claims 4294967280 captured bytes, more than the file's snaplen/);
  });

  it('a part that read(2) fails on', async () => {
    // read(2) of a directory fails with EISDIR: an error, not an empty part.
    const unreadable = fs.mkdtempSync(path.join(dir, 'not-a-file-'));
    await expect(native.mergePcaps([unreadable], path.join(dir, 'x.pcap'))).rejects.toMatchObject({
      code: 'MERGE_INPUT_FAILED',
      message: expect.stringMatching(/not-a-file-\w+ could not be read at byte 0: Is a directory/),
    });
  });

  it('whole parts merge, and the result says how many records each held', async () => {
    const a = part('whole-a.part', (b) => b);
    const b = part('whole-b.part', (x) => x.subarray(0, recordAt(4)));
    const out = path.join(dir, 'whole.pcap');
    const merged = await native.mergePcaps([a, b], out);
    expect(merged).toEqual({ packets: 10, parts: [6, 4] });
    expect(readPcap(out).records).toHaveLength(10);
  });
});

import { describe, expect, it } from 'vitest';
import { expectedInWindow, FixtureFrameCheck, PATTERN_OFFSET, SEQ_OFFSET } from '../../bench/fixture-frames';

/** A frame as test/fixtures/primary.c --known builds it (only the bytes the check reads matter). */
function knownFrame(seq: number, size: number): Buffer {
  const f = Buffer.alloc(size);
  f.writeUInt16BE(0x0800, 12);
  f.writeUInt32BE(Math.floor(seq / 2 ** 32), SEQ_OFFSET);
  f.writeUInt32BE(seq % 2 ** 32, SEQ_OFFSET + 4);
  for (let k = PATTERN_OFFSET; k < size; k++) f[k] = (seq + k) % 256;
  return f;
}

const ALL = { from: 0, to: Number.MAX_SAFE_INTEGER };

describe('FixtureFrameCheck', () => {
  it('counts intact frames, the sequence numbers seen and those inside the window', () => {
    const check = new FixtureFrameCheck(64, { from: 11, to: 13 });
    for (const seq of [10, 11, 12, 13]) check.visit(knownFrame(seq, 64), 64);
    expect(check.result()).toEqual({ packets: 4, inWindow: 2, minSeq: 10, maxSeq: 13, intact: 4, damaged: 0 });
  });

  it('reads sequence numbers above 2^32', () => {
    const check = new FixtureFrameCheck(1500, ALL);
    check.visit(knownFrame(2 ** 33 + 5, 1500), 1500);
    expect(check.result()).toMatchObject({ minSeq: 2 ** 33 + 5, intact: 1 });
  });

  it('flags a frame whose tail came from another packet', () => {
    const check = new FixtureFrameCheck(64, ALL);
    const mixed = knownFrame(20, 64);
    knownFrame(21, 64).copy(mixed, 60, 60);
    check.visit(mixed, 64);
    expect(check.result().damaged).toBe(1);
  });

  it('flags a cut frame and a frame of the wrong size', () => {
    const check = new FixtureFrameCheck(1500, ALL);
    check.visit(knownFrame(1, 1500).subarray(0, 1000), 1500);
    check.visit(knownFrame(2, 64), 64);
    expect(check.result()).toMatchObject({ packets: 2, intact: 0, damaged: 2 });
  });

  it('reports no sequence numbers when nothing was seen', () => {
    expect(new FixtureFrameCheck(64, ALL).result()).toEqual({ packets: 0, inWindow: 0, minSeq: null, maxSeq: null, intact: 0, damaged: 0 });
  });
});

describe('expectedInWindow', () => {
  it('counts every sequence number of the window once per direction', () => {
    expect(expectedInWindow({ from: 100, to: 110 }, 1)).toBe(10);
    expect(expectedInWindow({ from: 100, to: 110 }, 2)).toBe(20);
    expect(expectedInWindow({ from: 5, to: 5 }, 2)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { FixtureFrameCheck, offeredInSpan, PATTERN_OFFSET, SEQ_OFFSET } from '../../bench/fixture-frames';

/** A frame as test/fixtures/primary.c --known builds it (only the bytes the check reads matter). */
function knownFrame(seq: number, size: number): Buffer {
  const f = Buffer.alloc(size);
  f.writeUInt16BE(0x0800, 12);
  f.writeUInt32BE(Math.floor(seq / 2 ** 32), SEQ_OFFSET);
  f.writeUInt32BE(seq % 2 ** 32, SEQ_OFFSET + 4);
  for (let k = PATTERN_OFFSET; k < size; k++) f[k] = (seq + k) % 256;
  return f;
}

describe('FixtureFrameCheck', () => {
  it('counts intact frames and the sequence span', () => {
    const check = new FixtureFrameCheck(64);
    for (const seq of [10, 11, 13]) check.visit(knownFrame(seq, 64), 64);
    expect(check.span()).toEqual({ packets: 3, minSeq: 10, maxSeq: 13, intact: 3, damaged: 0 });
  });

  it('reads sequence numbers above 2^32', () => {
    const check = new FixtureFrameCheck(1500);
    check.visit(knownFrame(2 ** 33 + 5, 1500), 1500);
    expect(check.span().minSeq).toBe(2 ** 33 + 5);
    expect(check.span().intact).toBe(1);
  });

  it('flags a frame whose tail came from another packet', () => {
    const check = new FixtureFrameCheck(64);
    const mixed = knownFrame(20, 64);
    knownFrame(21, 64).copy(mixed, 60, 60);
    check.visit(mixed, 64);
    expect(check.span().damaged).toBe(1);
  });

  it('flags a cut frame and a frame of the wrong size', () => {
    const check = new FixtureFrameCheck(1500);
    check.visit(knownFrame(1, 1500).subarray(0, 1000), 1500);
    check.visit(knownFrame(2, 64), 64);
    expect(check.span()).toMatchObject({ packets: 2, intact: 0, damaged: 2 });
  });

  it('reports an empty span when nothing was seen', () => {
    const span = new FixtureFrameCheck(64).span();
    expect(offeredInSpan(span, 1)).toBe(0);
  });
});

describe('offeredInSpan', () => {
  it('counts every sequence number in the span once per direction', () => {
    const span = { packets: 8, minSeq: 100, maxSeq: 109, intact: 8, damaged: 0 };
    expect(offeredInSpan(span, 1)).toBe(10);
    expect(offeredInSpan(span, 2)).toBe(20);
  });
});

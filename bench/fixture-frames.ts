/**
 * What the paced primary (test/fixtures/primary.c, --known) puts in every
 * frame: a 64-bit big-endian sequence number at byte 42 and, from byte 50
 * on, bytes equal to (seq + offset) mod 256. The primary numbers packets as
 * it offers them, so its offered counter read at the start and the end of a
 * run's window is a range of sequence numbers: every number in that range
 * passed each captured direction once, and counting the captured frames
 * inside it gives the exact loss, free of the window's edges. Reading the
 * pattern back shows any frame whose bytes were cut or mixed with another
 * packet's.
 */
export const SEQ_OFFSET = 42;
export const PATTERN_OFFSET = 50;
const ETHERTYPE_OFFSET = 12;
const ETHERTYPE_IPV4 = 0x0800;
const TWO_POW_32 = 2 ** 32;

/** Sequence numbers offered during a window: [from, to). */
export interface SeqWindow {
  from: number;
  to: number;
}

export interface SequenceCheck {
  packets: number;
  /** Captured frames whose sequence number lies in the window. */
  inWindow: number;
  minSeq: number | null;
  maxSeq: number | null;
  intact: number;
  damaged: number;
}

export class FixtureFrameCheck {
  readonly #size: number;
  readonly #window: SeqWindow;
  packets = 0;
  inWindow = 0;
  intact = 0;
  damaged = 0;
  minSeq = Number.POSITIVE_INFINITY;
  maxSeq = Number.NEGATIVE_INFINITY;

  constructor(frameSize: number, window: SeqWindow) {
    this.#size = frameSize;
    this.#window = window;
  }

  /** A few bytes per frame, not all: a full compare of 1500-byte frames would dominate the bench. */
  readonly visit = (data: Buffer, origlen: number): void => {
    this.packets++;
    if (data.length < PATTERN_OFFSET + 1 || data.length !== this.#size || origlen !== this.#size) {
      this.damaged++;
      return;
    }
    const seq = data.readUInt32BE(SEQ_OFFSET) * TWO_POW_32 + data.readUInt32BE(SEQ_OFFSET + 4);
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (seq >= this.#window.from && seq < this.#window.to) this.inWindow++;
    const last = data.length - 1;
    const mid = (PATTERN_OFFSET + last) >> 1;
    const ok =
      data.readUInt16BE(ETHERTYPE_OFFSET) === ETHERTYPE_IPV4 &&
      data[PATTERN_OFFSET] === (seq + PATTERN_OFFSET) % 256 &&
      data[mid] === (seq + mid) % 256 &&
      data[last] === (seq + last) % 256;
    if (ok) this.intact++;
    else this.damaged++;
  };

  result(): SequenceCheck {
    const seen = Number.isFinite(this.minSeq);
    return {
      packets: this.packets,
      inWindow: this.inWindow,
      minSeq: seen ? this.minSeq : null,
      maxSeq: seen ? this.maxSeq : null,
      intact: this.intact,
      damaged: this.damaged,
    };
  }
}

/** Packets a file should hold from the window: each sequence number once per direction it captures. */
export function expectedInWindow(window: SeqWindow, directions: number): number {
  return Math.max(0, window.to - window.from) * directions;
}

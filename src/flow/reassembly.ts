/**
 * Per-direction TCP reassembly into a byte stream with gaps marked. Segments arrive in capture order;
 * in-order bytes go straight to the consumer, out-of-order ones wait (copied, within a byte cap),
 * retransmitted bytes are counted and dropped. A payload the snaplen cut is delivered as what was
 * captured plus a `snaplen` gap for the rest, so a consumer that knows its record lengths (TLS) keeps
 * its place. A hole never filled is a `loss` gap when the stream is flushed or the cap is hit.
 */
import { copyBytes } from '../bytes.js';

export type GapKind = 'snaplen' | 'loss';

export interface StreamConsumer {
  /** captured bytes at stream offset `off`; valid during the call only */
  data(bytes: Uint8Array, off: number, frame: number, time: number): void;
  /** the same for `src[start..end)`, where the consumer can read them in place (no view per segment) */
  dataIn?(src: Uint8Array, start: number, end: number, off: number, frame: number, time: number): void;
  /** `len` bytes at stream offset `off` that are not in the capture */
  gap(len: number, off: number, kind: GapKind, frame: number): void;
}

interface Held {
  off: number;
  wireLen: number;
  data: Uint8Array;
  frame: number;
  time: number;
}

export interface ReassemblyStats {
  /** payload bytes delivered (captured) */
  delivered: number;
  /** bytes missing because the snaplen cut them */
  snaplenBytes: number;
  /** bytes never seen (lost before the capture point, or the capture dropped them) */
  lostBytes: number;
  /** segments carrying only bytes already seen */
  retransmissions: number;
  retransmittedBytes: number;
  /** segments that arrived ahead of a hole */
  outOfOrder: number;
}

export class StreamReassembler {
  /** the next stream offset expected */
  next = 0;
  /**
   * How far the receiver acknowledged this stream (stream offset; set by the connection from the peer's
   * ACKs). A hole it acknowledged was received: the capture missed those bytes, no retransmission will
   * fill it, so it is given up at once instead of holding what follows until the end of the connection.
   */
  acked = 0;
  /**
   * The frame of the first ACK that covered bytes not captured yet (0: none): where a hole it proves is
   * placed, and before which those bytes, when they are captured after it, were sent
   */
  holeAckFrame = 0;
  readonly stats: ReassemblyStats = { delivered: 0, snaplenBytes: 0, lostBytes: 0, retransmissions: 0, retransmittedBytes: 0, outOfOrder: 0 };
  private held: Held[] = [];
  private heldBytes = 0;
  /** once the consumer has all it wants, bytes are only counted, not delivered */
  consumer: StreamConsumer | null;

  constructor(
    consumer: StreamConsumer | null,
    private readonly maxHeld = 256 * 1024,
  ) {
    this.consumer = consumer;
  }

  /**
   * Add a segment at stream offset `off` with `wireLen` payload bytes on the wire, of which `captured`
   * were captured (a view, copied if held). Returns true when it only repeated bytes already seen.
   */
  segment(off: number, wireLen: number, captured: Uint8Array, frame: number, time: number): boolean {
    return this.segmentIn(off, wireLen, captured, 0, captured.length, frame, time);
  }

  /**
   * The same for the `capLen` captured bytes at `start` in `src`: no view is made unless a consumer
   * reads them (most packets of a connection nobody parses any more cost no allocation).
   */
  segmentIn(off: number, wireLen: number, src: Uint8Array, start: number, capLen: number, frame: number, time: number): boolean {
    if (wireLen <= 0) return false;
    const end = off + wireLen;
    if (end <= this.next) {
      this.stats.retransmissions++;
      this.stats.retransmittedBytes += wireLen;
      return true;
    }
    if (off > this.next) {
      if (this.acked < off) {
        this.stats.outOfOrder++;
        this.hold(off, wireLen, src, start, capLen, frame, time);
        return false;
      }
      // the receiver acknowledged the hole before this segment: it got those bytes, the capture did not
      if (this.held.length > 0) {
        this.hold(off, wireLen, src, start, capLen, frame, time);
        this.ackTo(this.acked, frame);
        return false;
      }
      this.loseAcked(off - this.next, frame);
    }
    if (off < this.next) {
      // overlapping retransmission that also brings new bytes: keep the new part
      const skip = this.next - off;
      this.stats.retransmittedBytes += skip;
      this.deliver(this.next, wireLen - skip, src, start + skip, capLen > skip ? capLen - skip : 0, frame, time);
    } else this.deliver(off, wireLen, src, start, capLen, frame, time);
    // (what waited behind the hole this segment filled is read now: in Wireshark's words, reassembled in this frame)
    if (this.held.length > 0) this.drain(frame);
    return false;
  }

  /**
   * The receiver acknowledged up to stream offset `off`: a hole before held bytes that it covers was
   * received and missed by the capture; it is given up and what waited behind it delivered.
   */
  ackTo(off: number, frame: number): void {
    if (off > this.acked) {
      // (holes an earlier ACK proved are filled or given up by now: its frame is no longer the one)
      if (this.acked <= this.next) this.holeAckFrame = 0;
      this.acked = off;
      if (off > this.next && this.holeAckFrame === 0) this.holeAckFrame = frame;
    }
    while (this.held.length > 0) {
      const h = this.held[0]!;
      if (h.off > this.next) {
        if (h.off > this.acked) return;
        this.loseAcked(h.off - this.next, frame, h.frame);
      }
      this.drain();
    }
  }

  /**
   * End of the connection: the receiver acknowledged bytes up to stream offset `end` that were never
   * captured and nothing came after them (call after flush): they are lost to the capture.
   */
  loseAckedTail(end: number, frame: number): void {
    if (this.held.length === 0 && end > this.next && end - this.next < 1 << 24) {
      if (end > this.acked) this.acked = end;
      this.loseAcked(end - this.next, frame);
    }
  }

  /**
   * A hole the receiver acknowledged: lost to the capture, placed at the ACK that proved it, or at the
   * segment behind it when that was captured earlier (the missed bytes were sent before it)
   */
  private loseAcked(len: number, frame: number, behind = Number.MAX_SAFE_INTEGER): void {
    this.lose(len, Math.min(this.holeAckFrame || frame, behind));
  }

  /**
   * The repeated `bytes` of the last segment (an overlap that also brought new bytes) were not the
   * sender's repeat but a copy the capture made (seen on another interface): not retransmitted bytes
   */
  notRetransmitted(bytes: number): void {
    this.stats.retransmittedBytes -= bytes;
  }

  /** deliver whatever is held, marking the holes before it as lost (end of connection) */
  flush(frame: number): void {
    while (this.held.length > 0) {
      const h = this.held[0]!;
      if (h.off > this.next) this.lose(h.off - this.next, frame);
      this.drain();
    }
  }

  /** a hole in front of held data that will not be filled: skip it */
  private lose(len: number, frame: number): void {
    this.stats.lostBytes += len;
    this.consumer?.gap(len, this.next, 'loss', frame);
    this.next += len;
  }

  private deliver(off: number, wireLen: number, src: Uint8Array, start: number, capLen: number, frame: number, time: number): void {
    const n = Math.min(capLen, wireLen);
    if (n > 0) {
      this.stats.delivered += n;
      const c = this.consumer;
      if (c !== null) {
        if (c.dataIn !== undefined) c.dataIn(src, start, start + n, off, frame, time);
        else c.data(src.subarray(start, start + n), off, frame, time);
      }
    }
    if (n < wireLen) {
      this.stats.snaplenBytes += wireLen - n;
      this.consumer?.gap(wireLen - n, off + n, 'snaplen', frame);
    }
    this.next = off + wireLen;
  }

  private hold(off: number, wireLen: number, src: Uint8Array, start: number, capLen: number, frame: number, time: number): void {
    if (this.heldBytes + capLen > this.maxHeld && this.held.length > 0) {
      // too much waiting behind a hole: give the hole up as lost and move on
      this.lose(this.held[0]!.off - this.next, frame);
      this.drain();
    }
    // nobody reads this stream: remember where the bytes go, not what they are
    const h: Held = { off, wireLen, data: this.consumer ? copyBytes(src, start, start + capLen) : EMPTY, frame, time };
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.off > off) i--;
    this.held.splice(i, 0, h);
    this.heldBytes += h.data.length;
  }

  /**
   * Deliver what is held and now in order; `filled`: the frame of the segment that filled the hole before it,
   * where it is complete (a segment captured before the one filling the hole in front of it was sent after
   * that one, or is read only from there)
   */
  private drain(filled = 0): void {
    while (this.held.length > 0) {
      const h = this.held[0]!;
      if (h.off > this.next) return;
      this.held.shift();
      this.heldBytes -= h.data.length;
      const end = h.off + h.wireLen;
      if (end <= this.next) continue;
      const skip = this.next - h.off;
      this.deliver(this.next, h.wireLen - skip, h.data, skip, h.data.length > skip ? h.data.length - skip : 0, Math.max(h.frame, filled), h.time);
    }
  }
}

const EMPTY = new Uint8Array(0);

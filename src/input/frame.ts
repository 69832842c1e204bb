/**
 * The frame a capture reader hands to its consumer. One object is reused for every frame of a file: it is
 * valid during the callback only, and whoever keeps bytes copies them (as gopacket does).
 * `buf[offset .. offset + capLen)` are the captured bytes; `view` is a DataView over the same ArrayBuffer
 * region as `buf` (index with the same offsets).
 */
import { copyBytes } from '../bytes.js';

export type FrameKind = 'packet' | 'custom';

export class Frame {
  /** frame.number, 1-based, counting every frame tshark counts (custom blocks included) */
  number = 0;
  kind: FrameKind = 'packet';
  /** false for pcapng Simple Packet Blocks and custom blocks: no timestamp */
  hasTime = false;
  /** seconds since the epoch (may exceed 2^32 in pcapng) */
  tsSec = 0;
  /** nanoseconds 0..999999999 */
  tsNsec = 0;
  /** frame.len: bytes on the wire */
  origLen = 0;
  /** frame.cap_len: bytes captured */
  capLen = 0;
  linkType = 0;
  /** bytes of frame check sequence at the end of each frame (pcap FCS bits, pcapng if_fcslen); -1 unknown */
  fcsLen = -1;
  /** the interface's snaplen (0: none given) */
  snaplen = 0;
  interfaceId = 0;
  /** byte offset of the record (header) in the file, or in the decompressed stream for gzip input */
  fileOffset = 0;
  buf: Uint8Array = EMPTY;
  view: DataView = new DataView(EMPTY.buffer);
  offset = 0;

  /** frame.time_epoch as tshark prints it: exact decimal, nine digits of fraction */
  timeEpoch(): string {
    return formatEpoch(this.tsSec, this.tsNsec);
  }

  /** a copy of the captured bytes, for whoever keeps them past the callback */
  bytes(): Uint8Array {
    return copyBytes(this.buf, this.offset, this.offset + this.capLen);
  }
}

const EMPTY = new Uint8Array(0);

export function formatEpoch(sec: number, nsec: number): string {
  if (sec < 0 && nsec > 0) {
    // sec + nsec/1e9 is negative: -4.999999999, not -5.000000001 (a negative if_tsoffset can get here)
    const frac = String(1_000_000_000 - nsec);
    return `-${-sec - 1}.${'000000000'.slice(frac.length)}${frac}`;
  }
  const frac = String(nsec);
  return `${sec}.${'000000000'.slice(frac.length)}${frac}`;
}

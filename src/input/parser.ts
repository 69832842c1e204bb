import type { Frame } from './frame.js';

/** What a capture format parser tells the reader about the file once it has read its headers. */
export interface InterfaceInfo {
  /** index within its section (pcapng) or 0 (pcap) */
  id: number;
  section: number;
  linkType: number;
  snaplen: number;
  /** pcapng if_tsresol as written (e.g. 6 = 10^-6, 0x89 = 2^-9); pcap: 6 or 9 */
  tsresol: number;
  /** pcapng if_tsoffset, seconds */
  tsoffset: number;
  fcsLen: number;
  name?: string;
}

/** A pcapng Decryption Secrets Block, kept for the TLS decryption stage. */
export interface DecryptionSecret {
  /** secrets type, e.g. 0x544c534b 'TLSK' (NSS key log) */
  type: number;
  data: Uint8Array;
  fileOffset: number;
}

export type FrameSink = (frame: Frame) => void;

/**
 * A format parser is fed bytes by the reader. `parse` consumes whole headers and records from
 * `buf[start, end)` (`base` is the file offset of `buf[0]`), calls the sink for each frame, and returns the
 * index after the last byte it consumed. Whatever it leaves is handed back with more bytes appended.
 * It throws a CaptureError when the bytes are wrong; the reader then stops.
 */
export interface FormatParser {
  readonly format: 'pcap' | 'pcapng';
  parse(buf: Uint8Array, view: DataView, start: number, end: number, base: number): number;
  /** how many bytes the structure at the current position needs in all (for the cut-off message) */
  pending(buf: Uint8Array, view: DataView, start: number, end: number): { what: string; need: number };
  /** true once the file/section header has been read, so frames may follow */
  readonly headerDone: boolean;
  readonly interfaces: InterfaceInfo[];
  readonly secrets: DecryptionSecret[];
  readonly byteOrder: 'le' | 'be' | 'mixed';
}

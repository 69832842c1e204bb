/**
 * Classic libpcap files: 24-byte file header, 16-byte record headers, either byte order, microsecond or
 * nanosecond timestamps (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/).
 */
import { CaptureError } from '../errors.js';
import { Frame } from './frame.js';
import type { DecryptionSecret, FormatParser, FrameSink, InterfaceInfo } from './parser.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** the largest record libpcap and wiretap accept for ordinary link types */
export const MAX_RECORD = 262144;
const FILE_HEADER = 24;
const LT_RESERVED = 0x03ff0000;
const LT_FCS_PRESENT = 0x04000000;
const RECORD_HEADER = 16;

export class PcapParser implements FormatParser {
  readonly format = 'pcap' as const;
  headerDone = false;
  readonly interfaces: InterfaceInfo[] = [];
  readonly secrets: DecryptionSecret[] = [];
  byteOrder: 'le' | 'be' = 'le';
  private le = true;
  private nano = false;
  private linkType = 0;
  private fcsLen = -1;
  private snaplen = 0;
  private readonly frame = new Frame();

  constructor(
    private readonly file: string,
    private readonly sink: FrameSink,
    private readonly decompressed = false,
  ) {}

  parse(buf: Uint8Array, view: DataView, start: number, end: number, base: number): number {
    let pos = start;
    if (!this.headerDone) {
      if (end - pos < FILE_HEADER) return pos;
      this.readHeader(view, pos, base);
      pos += FILE_HEADER;
    }
    const le = this.le;
    const f = this.frame;
    const sink = this.sink;
    f.buf = buf;
    f.view = view;
    const fracScale = this.nano ? 1 : 1000;
    const fracMax = this.nano ? 1_000_000_000 : 1_000_000;
    while (end - pos >= RECORD_HEADER) {
      const incl = view.getUint32(pos + 8, le);
      if (incl > MAX_RECORD) {
        throw new CaptureError({
          code: 'record-too-large',
          file: this.file,
          offset: base + pos,
          detail: `record header claims ${incl} captured bytes, more than the maximum of ${MAX_RECORD} (corrupt record header)`,
          need: incl,
          have: MAX_RECORD,
          decompressed: this.decompressed,
        });
      }
      if (end - pos - RECORD_HEADER < incl) break;
      let sec = view.getUint32(pos, le);
      let frac = view.getUint32(pos + 4, le);
      if (frac >= fracMax) {
        // an invalid fraction; carry whole seconds rather than print nonsense
        sec += Math.floor(frac / fracMax);
        frac %= fracMax;
      }
      f.number++;
      f.tsSec = sec;
      f.tsNsec = frac * fracScale;
      f.capLen = incl;
      f.origLen = view.getUint32(pos + 12, le);
      f.fileOffset = base + pos;
      f.offset = pos + RECORD_HEADER;
      sink(f);
      pos += RECORD_HEADER + incl;
    }
    return pos;
  }

  pending(_buf: Uint8Array, view: DataView, start: number, end: number): { what: string; need: number } {
    if (!this.headerDone) return { what: 'pcap file header', need: FILE_HEADER };
    if (end - start < RECORD_HEADER) return { what: 'record header', need: RECORD_HEADER };
    return { what: 'record', need: RECORD_HEADER + view.getUint32(start + 8, this.le) };
  }

  private readHeader(view: DataView, pos: number, base: number): void {
    const magicLE = view.getUint32(pos, true);
    const magicBE = view.getUint32(pos, false);
    const err = (code: 'bad-magic' | 'bad-version' | 'bad-linktype' | 'bad-header', offset: number, detail: string) =>
      new CaptureError({ code, file: this.file, offset: base + offset, detail, decompressed: this.decompressed });
    if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
      this.le = true;
      this.nano = magicLE === PCAP_MAGIC_NS;
    } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
      this.le = false;
      this.nano = magicBE === PCAP_MAGIC_NS;
    } else {
      throw err('bad-magic', pos, `not a pcap file (magic 0x${magicBE.toString(16).padStart(8, '0')})`);
    }
    const le = this.le;
    this.byteOrder = le ? 'le' : 'be';
    const major = view.getUint16(pos + 4, le);
    const minor = view.getUint16(pos + 6, le);
    // libpcap and wiretap read major version 2 whatever the minor (2.5 files exist); anything else is not pcap
    if (major !== 2) throw err('bad-version', pos + 4, `pcap major version ${major} unsupported (version ${major}.${minor}; only 2.x is pcap)`);
    this.snaplen = view.getUint32(pos + 16, le);
    const lt = view.getUint32(pos + 20, le);
    // link-type field as libpcap lays it out (LT_* in pcap-common.h): bits 0-15 link type, bits 16-25
    // reserved (must be 0), bit 26 "FCS length present", bits 28-31 FCS length in 16-bit words
    if ((lt & LT_RESERVED) !== 0) {
      throw err('bad-linktype', pos + 20, `link-type field 0x${lt.toString(16).padStart(8, '0')} has reserved bits 16-25 set (corrupt header, or not written by libpcap)`);
    }
    this.linkType = lt & 0xffff;
    this.fcsLen = lt & LT_FCS_PRESENT ? (lt >>> 28) * 2 : -1;
    const f = this.frame;
    f.linkType = this.linkType;
    f.fcsLen = this.fcsLen;
    f.snaplen = this.snaplen;
    f.hasTime = true;
    f.kind = 'packet';
    f.interfaceId = 0;
    this.interfaces.push({
      id: 0,
      section: 0,
      linkType: this.linkType,
      snaplen: this.snaplen,
      tsresol: this.nano ? 9 : 6,
      tsoffset: 0,
      fcsLen: this.fcsLen,
    });
    this.headerDone = true;
  }
}

/**
 * pcapng (draft-ietf-opsawg-pcapng): sections in either byte order, several in one file, interfaces with
 * their own link type, snaplen, if_tsresol and if_tsoffset; Enhanced, Simple and obsolete Packet Blocks;
 * Custom Blocks counted as frames as tshark counts them; Decryption Secrets Blocks kept; the rest skipped.
 */
import { copyBytes } from '../bytes.js';
import { CaptureError, type CaptureErrorCode } from '../errors.js';
import { Frame } from './frame.js';
import { MAX_RECORD } from './pcap.js';
import type { DecryptionSecret, FormatParser, FrameSink, InterfaceInfo } from './parser.js';

export const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_PB = 0x00000002; // obsolete Packet Block
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;
const BT_DSB = 0x0000000a;
const BT_CB = 0x00000bad; // Custom Block, may be copied
const BT_DCB = 0x40000bad; // Custom Block, do not copy
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** a block larger than this is taken as corrupt (wiretap's limit is 16 MiB for non-packet blocks) */
const MAX_BLOCK = 16 * 1024 * 1024;

const OPT_ENDOFOPT = 0;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_FCSLEN = 13;
const IF_TSOFFSET = 14;

interface Iface extends InterfaceInfo {
  /** units per second: 10^n or 2^n */
  unitsPerSec: number;
  /** nanoseconds per unit when that is a whole number (10^-9 .. 10^0), else 0 */
  nsPerUnit: number;
  /** divide units by this to get nanoseconds when units are finer than 1 ns (10^-10 ...), else 0 */
  unitsPerNs: number;
}

export class PcapngParser implements FormatParser {
  readonly format = 'pcapng' as const;
  headerDone = false;
  readonly interfaces: InterfaceInfo[] = [];
  readonly secrets: DecryptionSecret[] = [];
  byteOrder: 'le' | 'be' | 'mixed' = 'le';
  private le = true;
  private section = -1;
  private ifaces: Iface[] = [];
  private readonly frame = new Frame();
  /** counts of blocks by type, for reports */
  readonly blockCounts = new Map<number, number>();
  /** told of each Decryption Secrets Block as it is read, before the frames after it */
  onSecret: ((s: DecryptionSecret) => void) | null = null;

  constructor(
    private readonly file: string,
    private readonly sink: FrameSink,
    private readonly decompressed = false,
  ) {}

  private fail(code: CaptureErrorCode, offset: number, detail: string, need?: number, have?: number): never {
    throw new CaptureError({ code, file: this.file, offset, detail, need, have, decompressed: this.decompressed });
  }

  parse(buf: Uint8Array, view: DataView, start: number, end: number, base: number): number {
    let pos = start;
    const f = this.frame;
    f.buf = buf;
    f.view = view;
    while (end - pos >= 12) {
      let type = view.getUint32(pos, this.le);
      if (type === BT_SHB) {
        // the SHB's own byte-order magic decides how to read it and the section after it
        const magicLE = view.getUint32(pos + 8, true);
        if (magicLE === BYTE_ORDER_MAGIC) this.setOrder(true);
        else if (view.getUint32(pos + 8, false) === BYTE_ORDER_MAGIC) this.setOrder(false);
        else this.fail('bad-header', base + pos + 8, `pcapng Section Header Block has no byte-order magic (0x${magicLE.toString(16)})`);
      } else if (!this.headerDone) {
        this.fail('bad-magic', base + pos, 'not a pcapng file (first block is not a Section Header Block)');
      }
      const le = this.le;
      type = view.getUint32(pos, le);
      const len = view.getUint32(pos + 4, le);
      if (len < 12 || len % 4 !== 0) {
        this.fail('bad-block', base + pos + 4, `pcapng block (type 0x${type.toString(16)}) has total length ${len}, not a multiple of 4 of at least 12`);
      }
      if (len > MAX_BLOCK + MAX_RECORD) {
        this.fail('bad-block', base + pos + 4, `pcapng block (type 0x${type.toString(16)}) claims ${len} bytes, more than any block may hold (corrupt block header)`, len, MAX_BLOCK);
      }
      if (end - pos < len) break;
      // wiretap reads a Section Header Block's version and options before its trailer, so a bad option is
      // the fault it names (lp__shb-option-too-long); do the same to name the same fault
      if (type === BT_SHB) this.readShb(view, pos, len, base);
      const trailer = view.getUint32(pos + len - 4, le);
      if (trailer !== len) {
        this.fail('bad-block', base + pos + len - 4, `pcapng block (type 0x${type.toString(16)}) total length ${len} but trailing length ${trailer}`);
      }
      this.blockCounts.set(type, (this.blockCounts.get(type) ?? 0) + 1);
      switch (type) {
        case BT_SHB:
          break; // read above
        case BT_IDB:
          this.readIdb(buf, view, pos, len, base);
          break;
        case BT_EPB: {
          if (len < 32) this.fail('bad-block', base + pos, `pcapng Enhanced Packet Block of ${len} bytes is shorter than its fixed fields (32)`);
          const ifc = this.iface(view.getUint32(pos + 8, le), base + pos + 8);
          const cap = view.getUint32(pos + 20, le);
          if (cap > len - 32) this.fail('bad-block', base + pos + 20, `pcapng Enhanced Packet Block captured length ${cap} overruns its block of ${len} bytes`, cap, len - 32);
          this.setTime(ifc, view.getUint32(pos + 12, le), view.getUint32(pos + 16, le));
          this.emit(ifc, cap, view.getUint32(pos + 24, le), pos + 28, base + pos);
          break;
        }
        case BT_SPB: {
          if (len < 16) this.fail('bad-block', base + pos, `pcapng Simple Packet Block of ${len} bytes is shorter than its fixed fields (16)`);
          const ifc = this.iface(0, base + pos);
          const orig = view.getUint32(pos + 8, le);
          let cap = Math.min(orig, len - 16);
          if (ifc.snaplen > 0 && cap > ifc.snaplen) cap = ifc.snaplen;
          f.hasTime = false;
          f.tsSec = 0;
          f.tsNsec = 0;
          this.emit(ifc, cap, orig, pos + 12, base + pos);
          break;
        }
        case BT_PB: {
          if (len < 32) this.fail('bad-block', base + pos, `pcapng Packet Block of ${len} bytes is shorter than its fixed fields (32)`);
          const ifc = this.iface(view.getUint16(pos + 8, le), base + pos + 8);
          const cap = view.getUint32(pos + 20, le);
          if (cap > len - 32) this.fail('bad-block', base + pos + 20, `pcapng Packet Block captured length ${cap} overruns its block of ${len} bytes`, cap, len - 32);
          this.setTime(ifc, view.getUint32(pos + 12, le), view.getUint32(pos + 16, le));
          this.emit(ifc, cap, view.getUint32(pos + 24, le), pos + 28, base + pos);
          break;
        }
        case BT_CB:
        case BT_DCB: {
          if (len < 16) this.fail('bad-block', base + pos, `pcapng Custom Block of ${len} bytes is shorter than its fixed fields (16)`);
          // tshark shows a custom block as a frame of its own: number, len and cap_len only
          f.number++;
          f.kind = 'custom';
          f.hasTime = false;
          f.tsSec = 0;
          f.tsNsec = 0;
          f.capLen = f.origLen = len - 16;
          f.offset = pos + 12;
          f.fileOffset = base + pos;
          f.linkType = -1;
          f.interfaceId = -1;
          f.fcsLen = -1;
          f.snaplen = 0;
          this.sink(f);
          break;
        }
        case BT_DSB: {
          if (len < 20) this.fail('bad-block', base + pos, `pcapng Decryption Secrets Block of ${len} bytes is shorter than its fixed fields (20)`);
          const stype = view.getUint32(pos + 8, le);
          const slen = view.getUint32(pos + 12, le);
          if (slen > len - 20) this.fail('bad-block', base + pos + 12, `pcapng Decryption Secrets Block secrets length ${slen} overruns its block`, slen, len - 20);
          const secret = { type: stype, data: copyBytes(buf, pos + 16, pos + 16 + slen), fileOffset: base + pos };
          this.secrets.push(secret);
          this.onSecret?.(secret);
          break;
        }
        default:
          // NRB, ISB, systemd journal export and anything newer: skipped by length
          break;
      }
      pos += len;
    }
    return pos;
  }

  pending(_buf: Uint8Array, view: DataView, start: number, end: number): { what: string; need: number } {
    // fewer than 12 bytes: the length may not be there yet, or be in another section's byte order
    if (end - start < 12) return { what: 'pcapng block header', need: 12 };
    const type = view.getUint32(start, this.le);
    return { what: `pcapng ${blockName(type)}`, need: view.getUint32(start + 4, this.le) };
  }

  private setOrder(le: boolean): void {
    if (this.headerDone && le !== this.le) this.byteOrder = 'mixed';
    else if (!this.headerDone) this.byteOrder = le ? 'le' : 'be';
    this.le = le;
  }

  private readShb(view: DataView, pos: number, len: number, base: number): void {
    const le = this.le;
    if (len < 28) this.fail('bad-block', base + pos, `pcapng Section Header Block of ${len} bytes is shorter than its fixed fields (28)`);
    const major = view.getUint16(pos + 12, le);
    const minor = view.getUint16(pos + 14, le);
    // wiretap reads 1.0 and 1.2 (1.2 was written by some old tools); others are not pcapng as we know it
    if (major !== 1 || (minor !== 0 && minor !== 2)) {
      this.fail('bad-version', base + pos + 12, `unknown pcapng Section Header Block version ${major}.${minor}`);
    }
    this.walkOptions(view, pos + 24, pos + len - 4, base, 'Section Header Block', () => {});
    this.section++;
    this.ifaces = [];
    this.headerDone = true;
  }

  private readIdb(buf: Uint8Array, view: DataView, pos: number, len: number, base: number): void {
    const le = this.le;
    if (len < 20) this.fail('bad-block', base + pos, `pcapng Interface Description Block of ${len} bytes is shorter than its fixed fields (20)`);
    const ifc: Iface = {
      id: this.ifaces.length,
      section: this.section,
      linkType: view.getUint16(pos + 8, le),
      snaplen: view.getUint32(pos + 12, le),
      tsresol: 6,
      tsoffset: 0,
      fcsLen: -1,
      unitsPerSec: 1e6,
      nsPerUnit: 1000,
      unitsPerNs: 0,
    };
    this.walkOptions(view, pos + 16, pos + len - 4, base, 'Interface Description Block', (code, o, l) => {
      if (code === IF_TSRESOL && l >= 1) ifc.tsresol = view.getUint8(o);
      else if (code === IF_TSOFFSET && l >= 8) {
        const hi = view.getInt32(o + (le ? 4 : 0), le);
        const lo = view.getUint32(o + (le ? 0 : 4), le);
        ifc.tsoffset = hi * 4294967296 + lo;
      } else if (code === IF_FCSLEN && l >= 1) ifc.fcsLen = view.getUint8(o);
      else if (code === IF_NAME) ifc.name = new TextDecoder().decode(buf.subarray(o, o + l)).replace(/\0+$/, '');
    });
    const r = ifc.tsresol;
    if (r & 0x80) {
      const p = r & 0x7f;
      ifc.unitsPerSec = 2 ** p;
      ifc.nsPerUnit = 0;
    } else {
      ifc.unitsPerSec = 10 ** r;
      ifc.nsPerUnit = r <= 9 ? 10 ** (9 - r) : 0;
      ifc.unitsPerNs = r > 9 ? 10 ** (r - 9) : 0;
    }
    this.ifaces.push(ifc);
    this.interfaces.push(ifc);
  }

  private walkOptions(view: DataView, start: number, end: number, base: number, block: string, each: (code: number, off: number, len: number) => void): void {
    const le = this.le;
    let o = start;
    while (end - o >= 4) {
      const code = view.getUint16(o, le);
      const l = view.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT) return;
      if (o + 4 + l > end) {
        this.fail('bad-block', base + o, `pcapng ${block} option ${code} of length ${l} overruns its block (not enough data to handle option of length ${l})`, l, end - o - 4);
      }
      each(code, o + 4, l);
      o += 4 + ((l + 3) & ~3);
    }
  }

  private iface(id: number, offset: number): Iface {
    const ifc = this.ifaces[id];
    if (!ifc) {
      const n = this.ifaces.length;
      this.fail('bad-block', offset, `pcapng packet block refers to interface ${id}, but its section describes ${n === 0 ? 'no interfaces' : n === 1 ? 'only interface 0' : `only interfaces 0-${n - 1}`} (no Interface Description Block for it)`);
    }
    return ifc;
  }

  private setTime(ifc: Iface, hi: number, lo: number): void {
    const f = this.frame;
    f.hasTime = true;
    let sec: number;
    let nsec: number;
    if (ifc.unitsPerSec <= 2 ** 32) {
      // exact without BigInt: whole seconds by long division, the fraction scaled to nanoseconds (floor)
      divmod(hi, lo, ifc.unitsPerSec);
      sec = dmQ;
      nsec = ifc.nsPerUnit > 0 ? dmR * ifc.nsPerUnit : fractionToNs(dmR, ifc.unitsPerSec);
    } else {
      const units = (BigInt(hi) << 32n) | BigInt(lo);
      const ups = BigInt(ifc.unitsPerSec);
      sec = Number(units / ups);
      nsec = Number(((units % ups) * 1_000_000_000n) / ups);
    }
    f.tsSec = sec + ifc.tsoffset;
    f.tsNsec = nsec;
  }

  private emit(ifc: Iface, cap: number, orig: number, dataOff: number, fileOffset: number): void {
    const f = this.frame;
    f.number++;
    f.kind = 'packet';
    f.capLen = cap;
    f.origLen = orig;
    f.offset = dataOff;
    f.fileOffset = fileOffset;
    f.linkType = ifc.linkType;
    f.fcsLen = ifc.fcsLen;
    f.snaplen = ifc.snaplen;
    f.interfaceId = ifc.id;
    this.sink(f);
  }
}

// exact 64-bit by (at most) 32-bit division without allocation: 16-bit limbs keep every step below 2^53
let dmQ = 0;
let dmR = 0;
function divmod(hi: number, lo: number, d: number): void {
  let q = 0;
  let r = 0;
  for (let i = 0; i < 4; i++) {
    const limb = i === 0 ? hi >>> 16 : i === 1 ? hi & 0xffff : i === 2 ? lo >>> 16 : lo & 0xffff;
    const cur = r * 65536 + limb;
    let qi = Math.floor(cur / d);
    r = cur - qi * d;
    // the float quotient is correctly rounded, so it can only be one too large
    if (r < 0) {
      qi--;
      r += d;
    }
    q = q * 65536 + qi;
  }
  dmQ = q;
  dmR = r;
}

/** floor(r * 10^9 / d) exactly, for 0 <= r < d <= 2^32: 10^9 = 1953125 * 512 keeps every product below 2^53 */
function fractionToNs(r: number, d: number): number {
  const x = r * 1953125;
  let q = Math.floor(x / d);
  let rem = x - q * d;
  if (rem < 0) {
    q--;
    rem += d;
  }
  return q * 512 + Math.floor((rem * 512) / d);
}

function blockName(type: number): string {
  switch (type) {
    case BT_SHB:
      return 'Section Header Block';
    case BT_IDB:
      return 'Interface Description Block';
    case BT_EPB:
      return 'Enhanced Packet Block';
    case BT_SPB:
      return 'Simple Packet Block';
    case BT_PB:
      return 'Packet Block';
    case BT_DSB:
      return 'Decryption Secrets Block';
    case BT_CB:
    case BT_DCB:
      return 'Custom Block';
    default:
      return `block (type 0x${type.toString(16)})`;
  }
}

/**
 * Write pcap and pcapng bytes for tests, deterministically, from the formats' own definitions
 * (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng) rather than through the reader under test.
 * Every structure's offset is recorded so that tests can name the exact byte a fault should be reported at.
 */
import { Decoder } from '../../src/decode/packet.js';
import type { Frame } from '../../src/input/frame.js';
import { readCapture, type CaptureInput, type CaptureSummary, type ReadOptions } from '../../src/input/reader.js';

class ByteSink {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u16(v: number, le: boolean): void {
    this.room(2);
    this.view.setUint16(this.length, v, le);
    this.length += 2;
  }
  u32(v: number, le: boolean): void {
    this.room(4);
    this.view.setUint32(this.length, v >>> 0, le);
    this.length += 4;
  }
  u64(v: bigint, le: boolean): void {
    this.room(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, v), le);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  pad4(): void {
    while (this.length % 4) this.u8(0);
  }
  /** overwrite a u32 already written */
  setU32(at: number, v: number, le: boolean): void {
    this.view.setUint32(at, v >>> 0, le);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// ---------------------------------------------------------------------------------------------- pcap

export interface PcapOptions {
  le?: boolean;
  nano?: boolean;
  major?: number;
  minor?: number;
  snaplen?: number;
  linkType?: number;
  /** the whole 32-bit link-type field, overriding linkType (FCS bits, reserved bits) */
  linkTypeField?: number;
  /** a different magic, to write a broken file */
  magic?: number;
}

export interface PcapRecord {
  sec: number;
  /** microseconds or nanoseconds, as the file's resolution says */
  frac: number;
  data: Uint8Array;
  /** default data.length */
  origLen?: number;
  /** write this as the captured length instead of data.length (a corrupt header) */
  inclLen?: number;
}

export interface Written {
  bytes: Uint8Array;
  /** offset of each record (pcap) or block (pcapng) in write order */
  offsets: number[];
  /** offsets where a structure ends: every prefix of this length is a whole file */
  boundaries: number[];
}

export function writePcap(opts: PcapOptions, records: PcapRecord[]): Written {
  const le = opts.le ?? true;
  const s = new ByteSink();
  s.u32(opts.magic ?? (opts.nano ? 0xa1b23c4d : 0xa1b2c3d4), le);
  s.u16(opts.major ?? 2, le);
  s.u16(opts.minor ?? 4, le);
  s.u32(0, le); // thiszone
  s.u32(0, le); // sigfigs
  s.u32(opts.snaplen ?? 262144, le);
  s.u32(opts.linkTypeField ?? opts.linkType ?? 1, le);
  const offsets: number[] = [];
  const boundaries = [s.length];
  for (const r of records) {
    offsets.push(s.length);
    s.u32(r.sec, le);
    s.u32(r.frac, le);
    s.u32(r.inclLen ?? r.data.length, le);
    s.u32(r.origLen ?? r.data.length, le);
    s.bytes(r.data);
    boundaries.push(s.length);
  }
  return { bytes: s.result(), offsets, boundaries };
}

// -------------------------------------------------------------------------------------------- pcapng

export const BT = { SHB: 0x0a0d0d0a, IDB: 1, PB: 2, SPB: 3, NRB: 4, ISB: 5, EPB: 6, DSB: 0x0a, CB: 0x0bad, DCB: 0x40000bad } as const;

export interface Option {
  code: number;
  value: Uint8Array;
}

export interface IdbOptions {
  linkType?: number;
  snaplen?: number;
  /** if_tsresol byte: n = 10^-n, 0x80 | n = 2^-n */
  tsresol?: number;
  /** if_tsoffset, seconds */
  tsoffset?: bigint;
  fcslen?: number;
  name?: string;
}

/** Writes blocks in the byte order of the current section (set by each shb()). */
export class PcapngWriter {
  private s = new ByteSink();
  private le = true;
  readonly offsets: number[] = [];
  readonly boundaries: number[] = [0];

  /** a block with the given body (between the length and the trailing length); returns its offset */
  block(type: number, body: (s: ByteSink, le: boolean) => void, opts: { trailer?: number } = {}): number {
    const le = this.le;
    const s = this.s;
    const start = s.length;
    s.u32(type, le);
    s.u32(0, le); // patched below
    body(s, le);
    s.pad4();
    const len = s.length - start + 4;
    s.setU32(start + 4, len, le);
    s.u32(opts.trailer ?? len, le);
    this.offsets.push(start);
    this.boundaries.push(s.length);
    return start;
  }

  options(s: ByteSink, le: boolean, opts: Option[]): void {
    if (opts.length === 0) return;
    for (const o of opts) {
      s.u16(o.code, le);
      s.u16(o.value.length, le);
      s.bytes(o.value);
      s.pad4();
    }
    s.u32(0, le); // opt_endofopt
  }

  shb(opts: { le?: boolean; major?: number; minor?: number; options?: Option[] } = {}): number {
    this.le = opts.le ?? true;
    return this.block(BT.SHB, (s, le) => {
      s.u32(0x1a2b3c4d, le);
      s.u16(opts.major ?? 1, le);
      s.u16(opts.minor ?? 0, le);
      s.u64(-1n, le); // section length unknown
      this.options(s, le, opts.options ?? []);
    });
  }

  idb(o: IdbOptions = {}): number {
    return this.block(BT.IDB, (s, le) => {
      s.u16(o.linkType ?? 1, le);
      s.u16(0, le);
      s.u32(o.snaplen ?? 0, le);
      const opts: Option[] = [];
      if (o.name !== undefined) opts.push({ code: 2, value: new TextEncoder().encode(o.name) });
      if (o.tsresol !== undefined) opts.push({ code: 9, value: Uint8Array.of(o.tsresol) });
      if (o.fcslen !== undefined) opts.push({ code: 13, value: Uint8Array.of(o.fcslen) });
      if (o.tsoffset !== undefined) {
        const v = new Uint8Array(8);
        new DataView(v.buffer).setBigInt64(0, o.tsoffset, le);
        opts.push({ code: 14, value: v });
      }
      this.options(s, le, opts);
    });
  }

  epb(iface: number, ts: bigint, data: Uint8Array, origLen = data.length, capLen = data.length): number {
    return this.block(BT.EPB, (s, le) => {
      s.u32(iface, le);
      s.u32(Number((BigInt.asUintN(64, ts) >> 32n) & 0xffffffffn), le);
      s.u32(Number(BigInt.asUintN(64, ts) & 0xffffffffn), le);
      s.u32(capLen, le);
      s.u32(origLen, le);
      s.bytes(data);
    });
  }

  spb(data: Uint8Array, origLen = data.length): number {
    return this.block(BT.SPB, (s, le) => {
      s.u32(origLen, le);
      s.bytes(data);
    });
  }

  /** the obsolete Packet Block: 16-bit interface id and drops count */
  pb(iface: number, ts: bigint, data: Uint8Array, origLen = data.length): number {
    return this.block(BT.PB, (s, le) => {
      s.u16(iface, le);
      s.u16(0, le);
      s.u32(Number(ts >> 32n), le);
      s.u32(Number(ts & 0xffffffffn), le);
      s.u32(data.length, le);
      s.u32(origLen, le);
      s.bytes(data);
    });
  }

  custom(pen: number, data: Uint8Array, copy = true): number {
    return this.block(copy ? BT.CB : BT.DCB, (s, le) => {
      s.u32(pen, le);
      s.bytes(data);
    });
  }

  dsb(type: number, data: Uint8Array): number {
    return this.block(BT.DSB, (s, le) => {
      s.u32(type, le);
      s.u32(data.length, le);
      s.bytes(data);
    });
  }

  done(): Written {
    return { bytes: this.s.result(), offsets: [...this.offsets], boundaries: [...this.boundaries] };
  }
}

// --------------------------------------------------------------------------------------------- data

/** a deterministic pseudo-random generator (mulberry32), so generated files are the same on every run */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(n: number, next: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

/** an Ethernet + IPv4 + TCP frame (checksums not computed), so that frames decode past the link layer */
export function ethTcpFrame(i: number, payload: Uint8Array): Uint8Array {
  const ipLen = 20 + 20 + payload.length;
  const b = new Uint8Array(14 + ipLen);
  const v = new DataView(b.buffer);
  b.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, ipLen);
  v.setUint16(18, i & 0xffff);
  v.setUint8(22, 64);
  v.setUint8(23, 6);
  b.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  v.setUint16(34, 40000 + (i % 3));
  v.setUint16(36, 8443);
  v.setUint32(38, i * 1000);
  v.setUint8(46, 5 << 4);
  v.setUint8(47, 0x18);
  v.setUint16(48, 65535);
  b.set(payload, 54);
  return b;
}

// ------------------------------------------------------------------------------------------ reading

/** everything a frame carries, copied out of the reused Frame */
export interface FrameRecord {
  number: number;
  kind: string;
  hasTime: boolean;
  time: string;
  tsSec: number;
  tsNsec: number;
  capLen: number;
  origLen: number;
  linkType: number;
  fcsLen: number;
  snaplen: number;
  interfaceId: number;
  fileOffset: number;
  hex: string;
}

export function recordOf(f: Frame): FrameRecord {
  return {
    number: f.number,
    kind: f.kind,
    hasTime: f.hasTime,
    time: f.timeEpoch(),
    tsSec: f.tsSec,
    tsNsec: f.tsNsec,
    capLen: f.capLen,
    origLen: f.origLen,
    linkType: f.linkType,
    fcsLen: f.fcsLen,
    snaplen: f.snaplen,
    interfaceId: f.interfaceId,
    fileOffset: f.fileOffset,
    hex: Buffer.from(f.buf.buffer, f.buf.byteOffset + f.offset, f.capLen).toString('hex'),
  };
}

export interface ReadResult {
  frames: FrameRecord[];
  summary: CaptureSummary;
}

export async function readAll(input: CaptureInput, opts: ReadOptions & { decode?: boolean } = {}): Promise<ReadResult> {
  const frames: FrameRecord[] = [];
  const decoder = opts.decode ? new Decoder() : null;
  const summary = await readCapture(
    input,
    (f) => {
      frames.push(recordOf(f));
      decoder?.decode(f);
    },
    opts,
  );
  return { frames, summary };
}

/** an async iterable handing out `bytes` in pieces of the given sizes (cycled), like a pipe would */
export async function* inPieces(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  if (!sizes.some((n) => n > 0)) throw new Error('inPieces: every piece size is 0');
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const n = Math.max(0, sizes[i++ % sizes.length]!);
    // a fresh copy each time, offset inside a larger buffer, as Node's pooled Buffers are
    const backing = new Uint8Array(n + 7);
    backing.set(bytes.subarray(pos, pos + n), 3);
    yield backing.subarray(3, 3 + Math.min(n, bytes.length - pos));
    pos += n;
  }
}

/** the summary fields that must not depend on how the input was chunked */
export function summaryKey(s: CaptureSummary): unknown {
  return {
    format: s.format,
    compression: s.compression,
    byteOrder: s.byteOrder,
    frames: s.frames,
    linkTypes: s.linkTypes,
    interfaces: s.interfaces,
    secrets: s.secrets.map((x) => ({ type: x.type, data: Buffer.from(x.data).toString('hex'), fileOffset: x.fileOffset })),
    readable: s.readable,
    error: s.error ? { code: s.error.code, offset: s.error.offset, message: s.error.message } : null,
  };
}

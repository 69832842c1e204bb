/**
 * `ssmcap packets`: one record per frame, keys named as tshark names them, as NDJSON or as TSV of chosen
 * fields (like `tshark -T fields -e ...`). Output is buffered and written per input chunk, waiting for the
 * output to drain: memory stays flat whatever the capture's size.
 */
import type { Writable } from 'node:stream';
import { Decoder } from '../decode/packet.js';
import type { Packet } from '../decode/view.js';
import { readCapture, type CaptureInput, type CaptureSummary, type ReadOptions } from '../input/reader.js';
import { TcpStreamIndex } from '../flow/stream-index.js';
import { FIELD_BY_NAME, FIELDS, quotedRecord, type FieldContext, type FieldDef } from './fields.js';

export type PacketsFormat = 'ndjson' | 'tsv';

export interface PacketsOptions extends ReadOptions {
  format: PacketsFormat;
  /** fields to print (TSV: the columns; NDJSON: restrict the keys); default all that apply */
  fields?: string[];
  /** TSV: print a header line with the field names (default true) */
  header?: boolean;
}

export class UnknownFieldError extends Error {
  constructor(readonly field: string) {
    super(`unknown field ${field} (known: ${FIELDS.map((f) => f.name).join(', ')})`);
  }
}

/** resolve field names, rejecting unknown ones */
export function resolveFields(names: string[] | undefined): FieldDef[] {
  if (!names || names.length === 0) return FIELDS;
  return names.map((n) => {
    const f = FIELD_BY_NAME.get(n);
    if (!f && n !== 'icmp.quoted') throw new UnknownFieldError(n);
    return f ?? QUOTED_FIELD;
  });
}

const QUOTED_FIELD: FieldDef = {
  name: 'icmp.quoted',
  json: () => undefined,
  text: (p, c) => {
    const q = quotedRecord(p, c);
    return q ? JSON.stringify(q) : '';
  },
};

const BLOCK = 1 << 20;
/** "00" to "99": the two ASCII digits of i at 2i */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, k) => 48 + (k & 1 ? (k >> 1) % 10 : Math.floor((k >> 1) / 10)));

/**
 * The output block: records are encoded straight into bytes (no string per record, no join, no UTF-8
 * conversion of a large string). When the block fills it is handed to the stream and a new one allocated
 * (the stream may keep the one it was given); the reader waits for the stream to drain after each chunk.
 */
class ByteWriter {
  buf!: Uint8Array;
  /** the same bytes as a DataView (keys, four bytes at a time) and as a Buffer (UTF-8 text) */
  private dv!: DataView;
  private text8!: Buffer;
  pos = 0;
  constructor(private readonly out: Writable) {
    this.newBlock(BLOCK);
  }

  /** make room for n more bytes (a record may be split across blocks: the stream sees the same bytes) */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flushSync();
    if (n > this.buf.length) this.newBlock(n);
  }

  /** bytes known to be ASCII (keys, punctuation) */
  raw(k: Uint8Array): void {
    const n = k.length;
    if (this.pos + n > this.buf.length) this.room(n);
    const b = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) b[pos++] = k[i]!;
    this.pos = pos;
  }

  /** a prepared key: four bytes per store (the last word may write up to 3 bytes past it, overwritten next) */
  key(k: Key): void {
    const words = k.words;
    if (this.pos + words.length * 4 > this.buf.length) this.room(words.length * 4);
    const dv = this.dv;
    let pos = this.pos;
    for (let i = 0; i < words.length; i++) {
      dv.setUint32(pos, words[i]!, true);
      pos += 4;
    }
    this.pos += k.length;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.room(1);
    this.buf[this.pos++] = c;
  }

  /** any text, as UTF-8 */
  text(s: string): void {
    this.room(s.length * 3);
    this.pos += this.text8.write(s, this.pos, 'utf8');
  }

  /** a number as String(n) prints it */
  number(n: number): void {
    if (n >= 0 && n <= 0x1fffffffffffff && Math.floor(n) === n) this.uint(n);
    else this.text(String(n));
  }

  /** a non-negative integer below 2^53 in decimal */
  uint(n: number): void {
    if (this.pos + 16 > this.buf.length) this.room(16);
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    if (n > 0xffffffff) {
      // above 32 bits: split off the low nine digits so the rest is 32-bit arithmetic
      const hi = Math.floor(n / 1e9);
      this.uint(hi);
      this.pad9(n - hi * 1e9);
      return;
    }
    const digits = n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
    let i = this.pos + digits;
    this.pos = i;
    if (n > 0x7fffffff) {
      const q = (n / 10) >>> 0;
      b[--i] = 48 + n - q * 10;
      n = q;
    }
    // two digits per division, in int32 arithmetic (which the compiler turns into a multiply)
    n = n | 0;
    while (n >= 100) {
      const q = (n / 100) | 0;
      const r = (n - q * 100) << 1;
      b[--i] = DIGIT_PAIRS[r + 1]!;
      b[--i] = DIGIT_PAIRS[r]!;
      n = q;
    }
    if (n >= 10) {
      b[--i] = DIGIT_PAIRS[(n << 1) + 1]!;
      b[--i] = DIGIT_PAIRS[n << 1]!;
    } else b[--i] = 48 + n;
  }

  /** an integer below 10^9 as exactly nine digits */
  pad9(n: number): void {
    if (this.pos + 9 > this.buf.length) this.room(9);
    const b = this.buf;
    let i = this.pos + 9;
    this.pos = i;
    for (let k = 0; k < 9; k++) {
      const q = (n / 10) >>> 0;
      b[--i] = 48 + n - q * 10;
      n = q;
    }
  }

  /** a string as JSON.stringify prints it: plain ASCII copied, anything else through JSON.stringify */
  jsonString(s: string): void {
    const n = s.length;
    if (this.pos + n + 2 > this.buf.length) this.room(n + 2);
    const b = this.buf;
    const start = this.pos;
    let pos = start;
    b[pos++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) {
        this.pos = start;
        this.text(JSON.stringify(s));
        return;
      }
      b[pos++] = c;
    }
    b[pos++] = 34;
    this.pos = pos;
  }

  private flushSync(): boolean {
    if (this.pos === 0) return true;
    const block = this.buf.subarray(0, this.pos);
    this.newBlock(BLOCK);
    return this.out.write(block);
  }

  private newBlock(n: number): void {
    const b = Buffer.allocUnsafeSlow(n); // not zero-filled: every byte handed out is written first
    this.buf = new Uint8Array(b.buffer, b.byteOffset, n);
    this.dv = new DataView(b.buffer, b.byteOffset, n);
    this.text8 = b;
    this.pos = 0;
  }

  async flush(): Promise<void> {
    const ok = this.flushSync();
    if (!ok && !this.out.writableEnded) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          this.out.off('error', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
        this.out.on('error', done);
      });
    }
  }
}

/** a key's bytes as little-endian 32-bit words (zero-padded) and its length */
interface Key {
  words: Uint32Array;
  length: number;
}

function key(s: string): Key {
  const bytes = Buffer.from(s, 'utf8');
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const words = new Uint32Array(padded.length / 4);
  const dv = new DataView(padded.buffer);
  for (let i = 0; i < words.length; i++) words[i] = dv.getUint32(4 * i, true);
  return { words, length: bytes.length };
}

// constant bytes as plain Uint8Arrays like the block itself: one receiver kind, so the copy loop stays monomorphic
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const TRUE = ascii('true');
const FALSE = ascii('false');
const QUOTED_FIRST = ascii('"icmp.quoted":');
const QUOTED_NEXT = ascii(',"icmp.quoted":');

const FAST = { hex2: 2, hex4: 4, hex5: 5, ipv4: 10, epoch: 11 } as const;

/** Frame.timeEpoch() is `sec.nnnnnnnnn`; its other forms (negative times) go through json() */
function canWriteEpoch(p: Packet): boolean {
  const f = p.frame;
  return f.tsSec >= 0 && f.tsSec <= 0x1fffffffffffff && Math.floor(f.tsSec) === f.tsSec && f.tsNsec >= 0 && f.tsNsec < 1e9 && Math.floor(f.tsNsec) === f.tsNsec;
}

const HEX = ascii('0123456789abcdef');

/** the value of a field with a fast form, as the same bytes as JSON.stringify(field.json()) */
function writeFast(w: ByteWriter, fmt: number, r: number, p: Packet): void {
  w.room(24);
  const b = w.buf;
  if (fmt === FAST.ipv4) {
    const a = p.buf;
    w.byte(34);
    w.uint(a[r]!);
    w.byte(46);
    w.uint(a[r + 1]!);
    w.byte(46);
    w.uint(a[r + 2]!);
    w.byte(46);
    w.uint(a[r + 3]!);
    w.byte(34);
    return;
  }
  if (fmt === FAST.epoch) {
    w.byte(34);
    w.uint(p.frame.tsSec);
    w.byte(46);
    w.pad9(p.frame.tsNsec);
    w.byte(34);
    return;
  }
  // hex: at least fmt digits, more when the value needs them (as padStart does)
  let digits = 1;
  for (let x = r >>> 4; x > 0; x >>>= 4) digits++;
  if (digits < fmt) digits = fmt;
  let pos = w.pos;
  b[pos++] = 34;
  b[pos++] = 48;
  b[pos++] = 120;
  let i = pos + digits;
  pos = i;
  for (let k = 0; k < digits; k++) {
    b[--i] = HEX[r & 15]!;
    r >>>= 4;
  }
  b[pos++] = 34;
  w.pos = pos;
}

/**
 * NDJSON for a field list, encoded into the writer: the same bytes as ndjsonLine (which stays as the
 * readable definition), with each key's bytes prepared once.
 */
class NdjsonEncoder {
  private readonly first: Key[];
  private readonly next: Key[];
  private readonly quoted: boolean;
  /** per field: 0 none, else the FAST code of its fast form */
  private readonly fastFmt: Uint8Array;
  private readonly fastRaw: (((p: Packet, c: FieldContext) => number) | null)[];

  constructor(private readonly fields: FieldDef[]) {
    this.first = fields.map((f) => key(`"${f.name}":`));
    this.next = fields.map((f) => key(`,"${f.name}":`));
    this.quoted = fields === FIELDS;
    this.fastFmt = Uint8Array.from(fields, (f) => (f.fast ? FAST[f.fast.fmt] : 0));
    this.fastRaw = fields.map((f) => f.fast?.raw ?? null);
  }

  write(w: ByteWriter, p: Packet, ctx: FieldContext): void {
    const fields = this.fields;
    let first = true;
    w.byte(123); // {
    for (let i = 0; i < fields.length; i++) {
      const fmt = this.fastFmt[i]!;
      if (fmt !== 0) {
        const r = this.fastRaw[i]!(p, ctx);
        if (r < 0) continue;
        if (fmt !== FAST.epoch || canWriteEpoch(p)) {
          w.key(first ? this.first[i]! : this.next[i]!);
          first = false;
          writeFast(w, fmt, r, p);
          continue;
        }
      }
      const v = fields[i]!.json(p, ctx);
      if (v === undefined) continue;
      w.key(first ? this.first[i]! : this.next[i]!);
      first = false;
      if (typeof v === 'number') w.number(v);
      else if (typeof v === 'string') w.jsonString(v);
      else w.raw(v ? TRUE : FALSE);
    }
    if (this.quoted) {
      const q = quotedRecord(p, ctx);
      if (q) {
        w.raw(first ? QUOTED_FIRST : QUOTED_NEXT);
        w.text(JSON.stringify(q));
      }
    }
    w.byte(125); // }
    w.byte(10);
  }
}

export function ndjsonLine(p: Packet, ctx: FieldContext, fields: FieldDef[]): string {
  let s = '{';
  let first = true;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const v = f.json(p, ctx);
    if (v === undefined) continue;
    s += (first ? '"' : ',"') + f.name + '":' + (typeof v === 'string' ? JSON.stringify(v) : String(v));
    first = false;
  }
  if (fields === FIELDS) {
    const q = quotedRecord(p, ctx);
    if (q) s += (first ? '' : ',') + '"icmp.quoted":' + JSON.stringify(q);
  }
  return s + '}\n';
}

export function tsvLine(p: Packet, ctx: FieldContext, fields: FieldDef[]): string {
  let s = '';
  for (let i = 0; i < fields.length; i++) s += (i ? '\t' : '') + fields[i]!.text(p, ctx);
  return s + '\n';
}

/** write the packets of one input (NDJSON bytes as ndjsonLine would make them); returns the reader's summary (its error, if any, is not printed here) */
export async function writePackets(input: CaptureInput, out: Writable, opts: PacketsOptions): Promise<CaptureSummary> {
  const fields = resolveFields(opts.fields);
  const decoder = new Decoder();
  const streams = new TcpStreamIndex();
  const w = new ByteWriter(out);
  const ctx: FieldContext = { tcpStream: -1, quotedTcpStream: -1 };
  const tsv = opts.format === 'tsv';
  const nd = new NdjsonEncoder(fields);
  if (tsv && opts.header !== false) w.text(fields.map((f) => f.name).join('\t') + '\n');
  const summary = await readCapture(
    input,
    (frame) => {
      const p = decoder.decode(frame);
      ctx.tcpStream = p.isTcp ? streams.index(p) : -1;
      ctx.quotedTcpStream = streams.quotedIndex(p);
      if (tsv) w.text(tsvLine(p, ctx, fields));
      else nd.write(w, p, ctx);
    },
    { ...opts, afterChunk: () => w.flush() },
  );
  await w.flush();
  return summary;
}

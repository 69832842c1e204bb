/**
 * `ssmcap packets`: one record per frame, keys named as tshark names them, as NDJSON or as TSV of chosen
 * fields (like `tshark -T fields -e ...`). Output is buffered and written per input chunk, waiting for the
 * output to drain: memory stays flat whatever the capture's size.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { Decoder } from '../decode/packet.js';
import type { Packet } from '../decode/view.js';
import { readCapture, type CaptureInput, type CaptureSummary, type ReadOptions } from '../input/reader.js';
import { TcpStreamIndex } from '../flow/stream-index.js';
import { FIELD_BY_NAME, FIELDS, LAYER_GUARDS, quotedRecord, type FieldContext, type FieldDef } from './fields.js';

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
/** room a compiled encoder asks for per field value written without checks (besides the key's bytes) */
const FIELD_ROOM = 64;
/** strings up to this length are written in the field's room; longer ones go through ByteWriter.text */
const SHORT_STRING = FIELD_ROOM - 8;

// Writers of values at o (b and d are the same bytes as a Uint8Array and a DataView), each returning the
// position after what it wrote. The caller has made room; a writer may store up to 3 bytes past the end
// of its value (overwritten by what follows, or past the writer's position).

/** 0000 to 9999: the four ASCII digits of i as a little-endian 32-bit word */
const QUADS = Uint32Array.from({ length: 10000 }, (_, i) => {
  const c = (k: number) => 48 + (Math.floor(i / k) % 10);
  return (c(1000) | (c(100) << 8) | (c(10) << 16) | (c(1) << 24)) >>> 0;
});

/** an integer 0..9999 in 1 to 4 digits */
function putSmall(d: DataView, o: number, n: number): number {
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
  d.setUint32(o, QUADS[n]! >>> ((4 - digits) << 3), true);
  return o + digits;
}

/** a non-negative integer below 2^53 in decimal */
export function putUint(d: DataView, o: number, n: number): number {
  if (n < 10000) return putSmall(d, o, n);
  if (n < 100000000) {
    const hi = (n / 10000) | 0;
    o = putSmall(d, o, hi);
    d.setUint32(o, QUADS[n - hi * 10000]!, true);
    return o + 4;
  }
  // eight digits at the end, what is above them first
  const hi = Math.floor(n / 100000000);
  const lo = n - hi * 100000000;
  o = hi < 10000 ? putSmall(d, o, hi) : putUint(d, o, hi);
  return putPad8(d, o, lo);
}

/** an integer below 10^8 as exactly eight digits */
function putPad8(d: DataView, o: number, n: number): number {
  const hi = (n / 10000) | 0;
  d.setUint32(o, QUADS[hi]!, true);
  d.setUint32(o + 4, QUADS[n - hi * 10000]!, true);
  return o + 8;
}

/** an integer below 10^9 as exactly nine digits */
export function putPad9(d: DataView, o: number, n: number): number {
  const hi = (n / 100000000) | 0;
  d.setUint8(o, 48 + hi);
  return putPad8(d, o + 1, n - hi * 100000000);
}

/** a string as JSON.stringify prints it when it is short printable ASCII without quote or backslash; else -1 */
function putAsciiJson(b: Uint8Array, o: number, s: string): number {
  const n = s.length;
  if (n > SHORT_STRING) return -1;
  b[o++] = 34;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return -1;
    b[o++] = c;
  }
  b[o++] = 34;
  return o;
}

/**
 * The output block: records are encoded straight into bytes (no string per record, no join, no UTF-8
 * conversion of a large string). When the block fills it is handed to the stream and another taken.
 * A block goes back to the pool when the stream's write callback says it is written, but only for sinks
 * known not to keep the chunk after that (files, sockets, pipes, stdout); for any other stream (a
 * Transform may hold the chunk in its readable buffer) each block is new. The reader waits for the
 * stream to drain after each chunk.
 */
class ByteWriter {
  buf!: Uint8Array;
  /** the same bytes as a DataView (constant keys, four bytes at a time) and as a Buffer (UTF-8 text) */
  dv!: DataView;
  private text8!: Buffer;
  pos = 0;
  private readonly pool: Buffer[] = [];
  private readonly recycle: boolean;
  private readonly giveBack = (block: Buffer) => () => {
    if (this.pool.length < 4) this.pool.push(block);
  };

  constructor(private readonly out: Writable) {
    this.recycle = out === process.stdout || out instanceof fs.WriteStream || out instanceof net.Socket;
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
    if (n >= 0 && n <= 0x1fffffffffffff && Math.floor(n) === n) {
      this.room(24);
      this.pos = putUint(this.dv, this.pos, n);
    } else this.text(String(n));
  }

  /** a string as JSON.stringify prints it: short plain ASCII copied, anything else through JSON.stringify */
  jsonString(s: string): void {
    this.room(FIELD_ROOM);
    const o = putAsciiJson(this.buf, this.pos, s);
    if (o >= 0) this.pos = o;
    else this.text(JSON.stringify(s));
  }

  private flushSync(): boolean {
    if (this.pos === 0) return true;
    const whole = this.text8;
    const block = whole.subarray(0, this.pos);
    this.newBlock(BLOCK);
    return this.recycle ? this.out.write(block, this.giveBack(whole)) : this.out.write(block);
  }

  private newBlock(n: number): void {
    // not zero-filled: every byte handed out is written first
    const b = n === BLOCK && this.pool.length > 0 ? this.pool.pop()! : Buffer.allocUnsafeSlow(n);
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

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const FAST = { uint: 1, hex2: 2, hex4: 4, hex5: 5, ipv4: 10, epoch: 11, ipv6: 12 } as const;

/** Frame.timeEpoch() is `sec.nnnnnnnnn`; its other forms (negative times) go through json() */
function canWriteEpoch(p: Packet): boolean {
  const f = p.frame;
  return f.tsSec >= 0 && f.tsSec <= 0x1fffffffffffff && Math.floor(f.tsSec) === f.tsSec && f.tsNsec >= 0 && f.tsNsec < 1e9 && Math.floor(f.tsNsec) === f.tsNsec;
}

const HEX = ascii('0123456789abcdef');

/** the value of a field with a fast form at b[o], as the same bytes as JSON.stringify(field.json()) */
function putFast(b: Uint8Array, d: DataView, o: number, fmt: number, r: number, p: Packet): number {
  if (fmt === FAST.ipv4) {
    const a = p.buf;
    b[o] = 34;
    o = putSmall(d, o + 1, a[r]!);
    b[o] = 46;
    o = putSmall(d, o + 1, a[r + 1]!);
    b[o] = 46;
    o = putSmall(d, o + 1, a[r + 2]!);
    b[o] = 46;
    o = putSmall(d, o + 1, a[r + 3]!);
    b[o] = 34;
    return o + 1;
  }
  if (fmt === FAST.ipv6) {
    b[o] = 34;
    o = putIPv6(b, d, o + 1, p.buf, r);
    b[o] = 34;
    return o + 1;
  }
  if (fmt === FAST.epoch) {
    b[o] = 34;
    o = putUint(d, o + 1, p.frame.tsSec);
    b[o] = 46;
    o = putPad9(d, o + 1, p.frame.tsNsec);
    b[o] = 34;
    return o + 1;
  }
  // hex: at least fmt digits, more when the value needs them (as padStart does)
  let digits = 1;
  for (let x = r >>> 4; x > 0; x >>>= 4) digits++;
  if (digits < fmt) digits = fmt;
  b[o++] = 34;
  b[o++] = 48;
  b[o++] = 120;
  let i = o + digits;
  o = i;
  for (let k = 0; k < digits; k++) {
    b[--i] = HEX[r & 15]!;
    r >>>= 4;
  }
  b[o++] = 34;
  return o;
}

/** a 16-bit word in 1 to 4 lower-case hex digits */
function putHexWord(b: Uint8Array, o: number, x: number): number {
  if (x >= 0x1000) b[o++] = HEX[x >> 12]!;
  if (x >= 0x100) b[o++] = HEX[(x >> 8) & 15]!;
  if (x >= 0x10) b[o++] = HEX[(x >> 4) & 15]!;
  b[o++] = HEX[x & 15]!;
  return o;
}

/** the IPv6 address at a[off], as formatIPv6 prints it (RFC 5952, IPv4-mapped and -compatible forms) */
export function putIPv6(b: Uint8Array, d: DataView, o: number, a: Uint8Array, off: number): number {
  const word = (i: number) => (a[off + 2 * i]! << 8) | a[off + 2 * i + 1]!;
  if (word(0) === 0 && word(1) === 0 && word(2) === 0 && word(3) === 0 && word(4) === 0) {
    const w5 = word(5);
    if (w5 === 0xffff || (w5 === 0 && (word(6) !== 0 || word(7) > 1))) {
      b[o++] = 58;
      b[o++] = 58;
      if (w5 === 0xffff) {
        d.setUint32(o, 0x66666666, true); // "ffff" and ":"
        b[o + 4] = 58;
        o += 5;
      }
      for (let k = 12; k < 16; k++) {
        if (k > 12) b[o++] = 46;
        o = putSmall(d, o, a[off + k]!);
      }
      return o;
    }
  }
  // longest run of two or more zero words, first one on ties
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (word(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && word(j) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      b[o++] = 58;
      b[o++] = 58;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) b[o++] = 58;
    o = putHexWord(b, o, word(i));
  }
  return o;
}

type Encode = (w: ByteWriter, p: Packet, c: FieldContext) => void;

/**
 * JavaScript statements that store the bytes of an ASCII string at o, four at a time through the
 * DataView `d` (the last store may write up to 3 bytes past the string: room was made, and they are
 * overwritten or lie past the position), and advance o
 */
function storeBytes(s: string): string {
  const bytes = Buffer.alloc(Math.ceil(s.length / 4) * 4);
  bytes.write(s, 'latin1');
  const out: string[] = [];
  for (let k = 0; k < bytes.length; k += 4) out.push(`d.setUint32(o${k ? ' + ' + k : ''}, 0x${bytes.readUInt32LE(k).toString(16)}, true);`);
  return out.join(' ') + ` o += ${s.length};`;
}

/**
 * NDJSON for a field list, encoded into the writer: the same bytes as ndjsonLine (which stays as the
 * readable definition).
 *
 * The encoder is compiled per field list (new Function): one call site per field, so each field's
 * function is called from a site that only ever sees it and the JIT inlines it, where a loop over the
 * fields would call all of them through one megamorphic site; each key is a few constant stores.
 * Consecutive fields of one layer sit under their layer's guard (LAYER_GUARDS): a frame without IPv6,
 * UDP, ICMP or TCP options pays one check per layer it lacks. The generated code only sequences calls
 * to the fields' own functions and to the put* writers above; every value still comes from fields.ts.
 * It keeps the block and position in locals `b` and `o`, after making room for every field up front;
 * what may be longer than FIELD_ROOM goes through the ByteWriter (`sync` then `reload`). Every key is
 * written with its leading comma; the record's first comma, at o0, becomes the opening brace (before
 * anything that may hand the block to the stream, which sets o0 to -1).
 */
function compileNdjson(fields: FieldDef[]): Encode {
  for (const f of fields) if (!/^[\x20-\x7e]+$/.test(f.name) || /["\\]/.test(f.name)) throw new Error(`field name ${JSON.stringify(f.name)} is not plain ASCII`);
  const json = fields.map((f) => f.json);
  const raw = fields.map((f) => f.fast?.raw ?? null);
  const guards: ((p: Packet) => boolean)[] = [];
  const lines: string[] = [];
  const consts: string[] = [];
  const sync = 'if (o0 >= 0) { b[o0] = 123; o0 = -1; } w.pos = o;';
  const reload = `w.room(ROOM); b = w.buf; d = w.dv; o = w.pos;`;
  const put = (i: number) => storeBytes(`,"${fields[i]!.name}":`);
  let layer: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    consts.push(`const J_${i} = json[${i}], R_${i} = raw[${i}];`);
    if (f.layer !== layer) {
      if (layer) lines.push('}');
      layer = f.layer;
      if (layer) {
        consts.push(`const G_${guards.length} = guards[${guards.length}];`);
        lines.push(`if (G_${guards.length}(p)) {`);
        guards.push(LAYER_GUARDS[f.layer!]);
      }
    }
    const generic = [
      `v = J_${i}(p, c);`,
      `if (v !== undefined) {`,
      `  ${put(i)}`,
      `  if (typeof v === 'number') { if (v >= 0 && v <= 0x1fffffffffffff && Math.floor(v) === v) o = putUint(d, o, v); else { ${sync} w.number(v); ${reload} } }`,
      `  else if (typeof v === 'string') { const e = putAsciiJson(b, o, v); if (e >= 0) o = e; else { ${sync} w.text(JSON.stringify(v)); ${reload} } }`,
      `  else if (v) { ${storeBytes('true')} } else { ${storeBytes('false')} }`,
      `}`,
    ];
    if (f.fast) {
      const fmt = FAST[f.fast.fmt];
      lines.push(`r = R_${i}(p, c);`, 'if (r >= 0) {');
      if (fmt === FAST.epoch) lines.push(`  if (canWriteEpoch(p)) { ${put(i)} o = putFast(b, d, o, ${fmt}, r, p); } else {`, ...generic, '}');
      else if (fmt === FAST.uint) lines.push(`  ${put(i)} o = putUint(d, o, r);`);
      else lines.push(`  ${put(i)} o = putFast(b, d, o, ${fmt}, r, p);`);
      lines.push('}');
    } else lines.push(...generic);
  }
  if (layer) lines.push('}');
  if (fields === FIELDS) {
    lines.push(`const q = quotedRecord(p, c);`, `if (q) { ${storeBytes(',"icmp.quoted":')} ${sync} w.text(JSON.stringify(q)); ${reload} }`);
  }
  // every key (with its comma) and every value at its longest that is written without a check
  const room = fields.reduce((n, f) => n + f.name.length + 4 + FIELD_ROOM, 64);
  const body = [
    ...consts,
    `const ROOM = ${room};`,
    'return function encodeNdjson(w, p, c) {',
    '  w.room(ROOM);',
    '  let b = w.buf, d = w.dv, o = w.pos, o0 = o, v, r;',
    ...lines.map((l) => '  ' + l),
    '  if (o0 >= 0) { b[o0] = 123; if (o === o0) o++; }',
    '  b[o++] = 125;',
    '  b[o++] = 10;',
    '  w.pos = o;',
    '};',
  ].join('\n');
  const names = ['json', 'raw', 'guards', 'putUint', 'putAsciiJson', 'putFast', 'canWriteEpoch', 'quotedRecord'];
  const make = new Function(...names, body) as (...a: unknown[]) => Encode;
  return make(json, raw, guards, putUint, putAsciiJson, putFast, canWriteEpoch, quotedRecord);
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
  const encode = compileNdjson(fields);
  if (tsv && opts.header !== false) w.text(fields.map((f) => f.name).join('\t') + '\n');
  const summary = await readCapture(
    input,
    (frame) => {
      const p = decoder.decode(frame);
      ctx.tcpStream = p.isTcp ? streams.index(p) : -1;
      ctx.quotedTcpStream = streams.quotedIndex(p);
      if (tsv) w.text(tsvLine(p, ctx, fields));
      else encode(w, p, ctx);
    },
    { ...opts, afterChunk: () => w.flush() },
  );
  await w.flush();
  return summary;
}

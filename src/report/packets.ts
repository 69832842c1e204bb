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

/** an output buffer that writes in blocks and lets the reader wait for the stream to drain */
class BlockWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly out: Writable) {}

  push(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flushSync();
  }

  private flushSync(): boolean {
    if (this.size === 0) return true;
    const ok = this.out.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    return ok;
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

/** write the packets of one input; returns the reader's summary (its error, if any, is not printed here) */
export async function writePackets(input: CaptureInput, out: Writable, opts: PacketsOptions): Promise<CaptureSummary> {
  const fields = resolveFields(opts.fields);
  const decoder = new Decoder();
  const streams = new TcpStreamIndex();
  const w = new BlockWriter(out);
  const ctx: FieldContext = { tcpStream: -1, quotedTcpStream: -1 };
  const tsv = opts.format === 'tsv';
  if (tsv && opts.header !== false) w.push(fields.map((f) => f.name).join('\t') + '\n');
  const summary = await readCapture(
    input,
    (frame) => {
      const p = decoder.decode(frame);
      ctx.tcpStream = p.isTcp ? streams.index(p) : -1;
      ctx.quotedTcpStream = streams.quotedIndex(p);
      w.push(tsv ? tsvLine(p, ctx, fields) : ndjsonLine(p, ctx, fields));
    },
    { ...opts, afterChunk: () => w.flush() },
  );
  await w.flush();
  return summary;
}

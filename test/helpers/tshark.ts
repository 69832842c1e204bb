/**
 * Comparing ssmcap with tshark -T fields: a tshark TSV (the command in test/corpus/ref/TSHARK_VERSION),
 * ssmcap's text for the same columns, and the differences frame by frame.
 */
import fs from 'node:fs';
import { Decoder, FIELD_BY_NAME, quotedRecord, readCapture, TcpStreamIndex, type FieldContext, type Packet } from '../../src/index.js';

/** the tls.* columns are compared by a later issue (TLS is parsed from the reassembled stream) */
export const SKIPPED = (column: string) => column.startsWith('tls.');

/** tshark's tcp.checksum.status is an enum: 0 Bad, 1 Good, 2 Unverified */
export const CHECKSUM_STATUS: Record<string, string> = {
  good: '1',
  bad: '0',
  unverified: '2',
  // ssmcap's name for the checksum-offload pattern (the field holds the pseudo-header sum): the
  // checksum is wrong on the wire as captured, and tshark calls it Bad
  partial: '0',
};

export interface Difference {
  frame: number;
  field: string;
  tshark: string;
  ssmcap: string;
}

/** the text ssmcap gives a column for one frame: outer value, then the quoted packet's, comma-separated */
export function ssmcapText(column: string, p: Packet, ctx: FieldContext): string {
  const field = FIELD_BY_NAME.get(column);
  if (!field) throw new Error(`ssmcap has no field ${column}`);
  let outer = field.text(p, ctx);
  if (column === 'tcp.checksum.status' && outer !== '') outer = CHECKSUM_STATUS[outer]!;
  const quoted = quotedText(column, p, ctx);
  if (quoted === '') return outer;
  return outer === '' ? quoted : `${outer},${quoted}`;
}

export function quotedText(column: string, p: Packet, ctx: FieldContext): string {
  const q = quotedRecord(p, ctx);
  const v = q?.[column];
  if (v === undefined) return '';
  if (column === 'tcp.checksum.status') return CHECKSUM_STATUS[v as string]!;
  return column === 'tcp.flags' || column === 'tcp.checksum' ? `0x${(v as number).toString(16).padStart(4, '0')}` : String(v);
}

export interface Table {
  columns: string[];
  rows: string[][];
}

export function readTsv(file: string): Table {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const columns = lines[0]!.split('\t');
  return { columns, rows: lines.slice(1).map((l) => l.split('\t')) };
}

/** run ssmcap over a capture and collect, for each frame, the text of each column */
export async function ssmcapRows(capture: string, columns: string[]): Promise<{ rows: string[][]; error: string | null }> {
  const decoder = new Decoder();
  const streams = new TcpStreamIndex();
  const ctx: FieldContext = { tcpStream: -1, quotedTcpStream: -1 };
  const rows: string[][] = [];
  const summary = await readCapture(capture, (frame) => {
    const p = decoder.decode(frame);
    ctx.tcpStream = p.isTcp ? streams.index(p) : -1;
    ctx.quotedTcpStream = streams.quotedIndex(p);
    rows.push(columns.map((c) => (SKIPPED(c) ? '' : ssmcapText(c, p, ctx))));
  });
  return { rows, error: summary.error?.message ?? null };
}

export function differences(ref: Table, mine: string[][]): Difference[] {
  const out: Difference[] = [];
  const n = Math.max(ref.rows.length, mine.length);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < ref.columns.length; c++) {
      const field = ref.columns[c]!;
      if (SKIPPED(field)) continue;
      const tshark = ref.rows[i]?.[c] ?? '<no frame>';
      const ssmcap = mine[i]?.[c] ?? '<no frame>';
      if (tshark !== ssmcap) out.push({ frame: i + 1, field, tshark, ssmcap });
    }
  }
  return out;
}


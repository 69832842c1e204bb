import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../src/bench/generate.js';
import { Decoder } from '../src/decode/packet.js';
import { TcpStreamIndex } from '../src/flow/stream-index.js';
import { readCapture } from '../src/input/reader.js';
import type { FieldContext } from '../src/report/fields.js';
import { ndjsonLine, resolveFields, tsvLine, writePackets } from '../src/report/packets.js';

// `ssmcap packets` encodes NDJSON straight into bytes (fast forms for hex, addresses, times). Its output
// must be byte for byte what ndjsonLine, the readable definition, makes: on the synthetic capture and on
// every capture of the corpus.

const root = path.join(import.meta.dirname, '..');
let dir: string;
let synthetic: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-ndjson-'));
  synthetic = path.join(dir, 's.pcap');
  await writeSyntheticCapture(synthetic, { packets: 3000, seed: 3 });
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function collector(): { out: Writable; text: () => string } {
  const parts: Buffer[] = [];
  const out = new Writable({
    highWaterMark: 1024, // small: exercises the wait for drain
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      setImmediate(cb);
    },
  });
  return { out, text: () => Buffer.concat(parts).toString('utf8') };
}

async function reference(file: string, fields: string[] | undefined, tsv: boolean): Promise<string> {
  const defs = resolveFields(fields);
  const d = new Decoder();
  const streams = new TcpStreamIndex();
  const ctx: FieldContext = { tcpStream: -1, quotedTcpStream: -1 };
  const lines: string[] = [];
  if (tsv) lines.push(defs.map((f) => f.name).join('\t') + '\n');
  await readCapture(file, (frame) => {
    const p = d.decode(frame);
    ctx.tcpStream = p.isTcp ? streams.index(p) : -1;
    ctx.quotedTcpStream = streams.quotedIndex(p);
    lines.push(tsv ? tsvLine(p, ctx, defs) : ndjsonLine(p, ctx, defs));
  });
  return lines.join('');
}

async function actual(file: string, fields: string[] | undefined, tsv: boolean): Promise<string> {
  const c = collector();
  await writePackets(file, c.out, { format: tsv ? 'tsv' : 'ndjson', fields, chunkSize: 4096 });
  return c.text();
}

function corpusFiles(): string[] {
  const dirs = [path.join(root, 'captures'), path.join(root, 'test', 'corpus')];
  return dirs.flatMap((d) =>
    fs.existsSync(d)
      ? fs
          .readdirSync(d)
          .filter((f) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(f))
          .map((f) => path.join(d, f))
      : [],
  );
}

describe('packets output bytes', () => {
  it('NDJSON of every field on the synthetic capture is what ndjsonLine makes', async () => {
    const want = await reference(synthetic, undefined, false);
    expect(want.split('\n').length).toBe(3001);
    expect(await actual(synthetic, undefined, false)).toBe(want);
  });

  it('NDJSON of chosen fields and TSV are what ndjsonLine and tsvLine make', async () => {
    const some = ['frame.time_epoch', 'ip.src', 'ipv6.flow', 'eth.type', 'tcp.flags', 'tcp.flags.str', 'icmp.quoted', 'ssmcap.stop'];
    expect(await actual(synthetic, some, false)).toBe(await reference(synthetic, some, false));
    expect(await actual(synthetic, undefined, true)).toBe(await reference(synthetic, undefined, true));
  });

  it('on every corpus capture', async () => {
    const files = corpusFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const want = await reference(f, undefined, false);
      expect(await actual(f, undefined, false), f).toBe(want);
    }
  });
});

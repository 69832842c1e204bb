/**
 * Bad input, through the library and through the built CLI: one line on stderr naming the file, the byte
 * offset and what was wrong; every frame before the fault delivered; exit 65 only when nothing could be
 * read as a capture. Expected offsets come from the capture writer, which knows where it put each record.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { constants as zc, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureErrorCode } from '../src/errors.js';
import { readCapture } from '../src/input/reader.js';
import { formatInfoText, inspectCapture } from '../src/report/info.js';
import { writePackets } from '../src/report/packets.js';
import { CLI, runCli } from './helpers/cli.js';
import { ethTcpFrame, PcapngWriter, randomBytes, readAll, rng, writePcap, type PcapRecord, type Written } from './helpers/capture-writer.js';

const next = rng(7);
const records: PcapRecord[] = Array.from({ length: 4 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: i, data: ethTcpFrame(i, randomBytes(20 + i * 30, next)) }));
const good = writePcap({}, records);

function ngFile(opts: { le?: boolean; idb?: boolean } = {}): Written {
  const w = new PcapngWriter();
  w.shb({ le: opts.le ?? true });
  if (opts.idb !== false) w.idb({ snaplen: 65535 });
  for (const r of records) w.epb(0, BigInt(r.sec) * 1_000_000n, r.data);
  return w.done();
}
const ng = ngFile();

function patch(bytes: Uint8Array, at: number, u32: number, le = true): Uint8Array {
  const b = bytes.slice();
  new DataView(b.buffer).setUint32(at, u32 >>> 0, le);
  return b;
}

/** a gzip file cut in the middle, and how much of it zlib itself can still decompress */
function cutGzip(): { bytes: Uint8Array; decompressed: number; frames: number } {
  const recs: PcapRecord[] = Array.from({ length: 400 }, (_, i) => ({ sec: i, frac: 0, data: ethTcpFrame(i, randomBytes(200, next)) }));
  const w = writePcap({}, recs);
  const gz = gzipSync(w.bytes);
  const bytes = gz.subarray(0, Math.floor(gz.length / 2));
  const decompressed = gunzipSync(bytes, { finishFlush: zc.Z_SYNC_FLUSH }).length;
  return { bytes, decompressed, frames: w.boundaries.filter((b) => b <= decompressed).length - 1 };
}
const gzCut = cutGzip();

interface Case {
  name: string;
  bytes: Uint8Array;
  /** null: no error at all */
  code: CaptureErrorCode | null;
  offset?: number;
  decompressed?: boolean;
  /** frames delivered before the fault */
  frames: number;
  /** the input could be read as a capture (a header was understood) */
  readable: boolean;
  /** words the message must hold */
  says?: RegExp;
}

const ngEpb3 = ng.offsets[4]!; // SHB, IDB, EPB, EPB, EPB (the third packet)
const ngEpb3Len = ng.boundaries[5]! - ngEpb3;

const cases: Case[] = [
  { name: 'empty file', bytes: new Uint8Array(0), code: 'empty', offset: 0, frames: 0, readable: false, says: /empty file/ },
  { name: 'three bytes', bytes: Uint8Array.of(0xd4, 0xc3, 0xb2), code: 'truncated', offset: 0, frames: 0, readable: false, says: /3 bytes is too short/ },
  { name: 'text garbage', bytes: new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), code: 'bad-magic', offset: 0, frames: 0, readable: false, says: /unknown file format.*"GET \/ HTTP\/1\.1\.\./ },
  { name: 'wrong magic', bytes: patch(good.bytes, 0, 0xa1b2c3d5), code: 'bad-magic', offset: 0, frames: 0, readable: false, says: /not a pcap, pcapng or gzip magic/ },
  { name: 'reserved link-type bits', bytes: writePcap({ linkTypeField: 0x00300000 }, records).bytes, code: 'bad-linktype', offset: 20, frames: 0, readable: false, says: /reserved bits/ },
  { name: 'pcap major version 3', bytes: writePcap({ major: 3 }, records).bytes, code: 'bad-version', offset: 4, frames: 0, readable: false, says: /major version 3/ },
  { name: 'unknown link type (read, not decoded)', bytes: writePcap({ linkType: 65000 }, records).bytes, code: null, frames: 4, readable: true },
  { name: 'link type ssmcap does not decode', bytes: writePcap({ linkType: 105 }, records).bytes, code: null, frames: 4, readable: true },
  { name: 'valid pcap without packets', bytes: writePcap({}, []).bytes, code: null, frames: 0, readable: true },
  { name: 'valid pcapng without packets', bytes: ngFile().bytes.subarray(0, ng.boundaries[2]), code: null, frames: 0, readable: true },
  { name: 'pcap file header cut', bytes: good.bytes.subarray(0, 20), code: 'truncated', offset: 0, frames: 0, readable: false, says: /pcap file header: 24 bytes needed, 20 present/ },
  { name: 'record header claiming 0xFFFFFF00 bytes', bytes: patch(good.bytes, good.offsets[2]! + 8, 0xffffff00), code: 'record-too-large', offset: good.offsets[2], frames: 2, readable: true, says: /claims 4294967040 captured bytes/ },
  { name: 'cut mid-record (half-written live capture)', bytes: good.bytes.subarray(0, good.offsets[2]! + 16 + 5), code: 'truncated', offset: good.offsets[2], frames: 2, readable: true, says: /inside a record: \d+ bytes needed, 21 present/ },
  { name: 'cut mid record header', bytes: good.bytes.subarray(0, good.offsets[3]! + 7), code: 'truncated', offset: good.offsets[3], frames: 3, readable: true, says: /inside a record header: 16 bytes needed, 7 present/ },
  { name: 'cut in the first record', bytes: good.bytes.subarray(0, 30), code: 'truncated', offset: 24, frames: 0, readable: true },
  { name: 'pcapng block cut', bytes: ng.bytes.subarray(0, ngEpb3 + 30), code: 'truncated', offset: ngEpb3, frames: 2, readable: true, says: /inside a pcapng Enhanced Packet Block: \d+ bytes needed, 30 present/ },
  { name: 'pcapng cut in a block header', bytes: ng.bytes.subarray(0, ngEpb3 + 6), code: 'truncated', offset: ngEpb3, frames: 2, readable: true, says: /block header/ },
  { name: 'pcapng bad trailing length', bytes: patch(ng.bytes, ngEpb3 + ngEpb3Len - 4, ngEpb3Len + 4), code: 'bad-block', offset: ngEpb3 + ngEpb3Len - 4, frames: 2, readable: true, says: /trailing length/ },
  { name: 'pcapng block claiming 0xFFFFFF00 bytes', bytes: patch(ng.bytes, ngEpb3 + 4, 0xffffff00), code: 'bad-block', offset: ngEpb3 + 4, frames: 2, readable: true, says: /claims 4294967040 bytes/ },
  { name: 'pcapng block length not a multiple of 4', bytes: patch(ng.bytes, ngEpb3 + 4, ngEpb3Len - 2), code: 'bad-block', offset: ngEpb3 + 4, frames: 2, readable: true, says: /not a multiple of 4/ },
  { name: 'pcapng packet on an interface that does not exist', bytes: patch(ng.bytes, ngEpb3 + 8, 7), code: 'bad-block', offset: ngEpb3 + 8, frames: 2, readable: true, says: /interface 7.*only interface 0/ },
  { name: 'pcapng packets before any interface', bytes: ngFile({ idb: false }).bytes, code: 'bad-block', offset: ng.offsets[1]! + 8, frames: 0, readable: true, says: /no interfaces/ },
  { name: 'pcapng Section Header without byte-order magic', bytes: patch(ng.bytes, 8, 0x11223344), code: 'bad-header', offset: 8, frames: 0, readable: false, says: /byte-order magic/ },
  { name: 'pcapng version 2.0', bytes: patch(ng.bytes, 12, 2), code: 'bad-version', offset: 12, frames: 0, readable: false, says: /version 2\.0/ },
  { name: 'pcapng without its Section Header Block', bytes: ng.bytes.subarray(ng.offsets[1]!), code: 'bad-magic', offset: 0, frames: 0, readable: false, says: /pcapng block of type 1 instead of a Section Header Block/ },
  { name: 'pcapng cut inside the Section Header Block', bytes: ng.bytes.subarray(0, 20), code: 'truncated', offset: 0, frames: 0, readable: false },
  { name: 'truncated gzip stream', bytes: gzCut.bytes, code: 'gzip', offset: gzCut.decompressed, decompressed: true, frames: gzCut.frames, readable: true, says: /gzip stream is cut short/ },
  {
    name: 'gzip with a bad CRC',
    bytes: (() => {
      const gz = gzipSync(good.bytes);
      return patch(gz, gz.length - 8, 0xdeadbeef);
    })(),
    code: 'gzip',
    offset: good.bytes.length,
    decompressed: true,
    frames: 4,
    readable: true,
    says: /corrupt/,
  },
  { name: 'gzip of garbage', bytes: gzipSync(Buffer.from('not a capture at all')), code: 'bad-magic', offset: 0, decompressed: true, frames: 0, readable: false },
  { name: 'gzip of nothing', bytes: gzipSync(Buffer.alloc(0)), code: 'empty', offset: 0, decompressed: true, frames: 0, readable: false },
  { name: 'gzip of a cut pcap', bytes: gzipSync(good.bytes.subarray(0, good.offsets[1]! + 3)), code: 'truncated', offset: good.offsets[1], decompressed: true, frames: 1, readable: true, says: /decompressed data ends inside a record header/ },
];

let dir: string;
const fileOf = new Map<string, string>();
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-bad-'));
  cases.forEach((c, i) => {
    const p = path.join(dir, `case${String(i).padStart(2, '0')}.cap`);
    fs.writeFileSync(p, c.bytes);
    fileOf.set(c.name, p);
  });
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build with npx tsc -p tsconfig.build.json`);
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function expectOneLine(stderr: string, file: string, c: { offset?: number; decompressed?: boolean }): void {
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  const lines = stderr.split('\n');
  expect(lines, stderr).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(lines[0]!.startsWith(`ssmcap: ${file}: ${c.decompressed ? 'decompressed byte' : 'byte'} ${c.offset}: `), lines[0]).toBe(true);
}

describe('library', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const file = fileOf.get(c.name)!;
      const { frames, summary } = await readAll(file, { decode: true });
      expect(frames).toHaveLength(c.frames);
      expect(summary.frames).toBe(c.frames);
      expect(frames.map((f) => f.number)).toEqual(Array.from({ length: c.frames }, (_, i) => i + 1));
      expect(summary.readable).toBe(c.readable);
      if (c.code === null) {
        expect(summary.error).toBeNull();
        return;
      }
      const e = summary.error!;
      expect(e).not.toBeNull();
      expect({ code: e.code, offset: e.offset, decompressed: e.decompressed, file: e.file }).toEqual({ code: c.code, offset: c.offset, decompressed: c.decompressed ?? false, file });
      expect(e.message).not.toContain('\n');
      if (c.says) expect(e.detail).toMatch(c.says);
      // the same fault from a stream of 3-byte pieces
      const piecewise = await readAll(Readable.from(chunks(c.bytes, 3)), { name: file });
      expect(piecewise.frames).toEqual(frames);
      expect(piecewise.summary.error?.message).toBe(e.message);
    });
  }

  it('a missing file, a directory', async () => {
    const missing = await readAll(path.join(dir, 'nope.pcap'));
    expect(missing.summary.error).toMatchObject({ code: 'io', offset: 0 });
    expect(missing.summary.error!.detail).toBe('cannot read: no such file');
    const isDir = await readAll(dir);
    expect(isDir.summary.error).toMatchObject({ code: 'io', offset: 0 });
    expect(isDir.summary.error!.detail).toBe('cannot read: it is a directory');
    expect(isDir.summary.readable).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)('a file without read permission (not testable as root)', async () => {
    const p = path.join(dir, 'secret.pcap');
    fs.writeFileSync(p, good.bytes);
    fs.chmodSync(p, 0o000);
    const r = await readAll(p);
    expect(r.summary.error!.detail).toBe('cannot read: permission denied');
  });

  it('an I/O error from the stream: permission denied, or a fault after some frames', async () => {
    const denied = new Readable({
      read() {
        this.destroy(Object.assign(new Error("EACCES: permission denied, open 'x'"), { code: 'EACCES' }));
      },
    });
    const r = await readAll(denied, { name: 'x' });
    expect(r.summary.error!.line()).toBe('ssmcap: x: byte 0: cannot read: permission denied');

    const upTo = good.offsets[2]! + 5;
    async function* failing() {
      yield good.bytes.subarray(0, upTo);
      throw Object.assign(new Error('EIO: i/o error, read\n  with a second line'), { code: 'EIO' });
    }
    const f = await readAll(failing(), { name: 'disk' });
    expect(f.frames).toHaveLength(2);
    expect(f.summary.error).toMatchObject({ code: 'io', offset: upTo });
    expect(f.summary.error!.message).toBe(`disk: byte ${upTo}: cannot read: EIO: i/o error, read with a second line`);
  });

  it('errors at once on a giant claimed length, without waiting for more input', async () => {
    for (const [bytes, at] of [
      [patch(good.bytes, good.offsets[1]! + 8, 0xffffff00), good.offsets[1]],
      [patch(ng.bytes, ngEpb3 + 4, 0xfffffff0), ngEpb3 + 4],
    ] as const) {
      let pulled = 0;
      const neverEnds: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: () => ({
          next: () => (pulled++ === 0 ? Promise.resolve({ done: false, value: bytes }) : new Promise(() => {})),
          return: () => Promise.resolve({ done: true, value: undefined }),
        }),
      };
      const s = await readCapture(neverEnds, () => {});
      expect(s.error).toMatchObject({ offset: at });
      expect(pulled).toBe(1);
    }
  });
});

/** each kind of case once: readable or not, an error or none, decompressed, frames before the fault */
const kind = (c: Case) => `${c.readable}/${c.code === null}/${!!c.decompressed}/${c.frames > 0}`;
const representatives = cases.filter((c, i) => cases.findIndex((x) => kind(x) === kind(c)) === i);

// what the CLI's packets and info print is the library's writePackets and inspectCapture, plus the error's
// line and the exit code (which do not depend on the case): every case through those in this process,
// one CLI process for info over every case, and each kind of case through its own CLI process
describe('packets and info, in this process', () => {
  for (const c of cases) {
    it(`packets: ${c.name}`, async () => {
      const file = fileOf.get(c.name)!;
      const out: Buffer[] = [];
      const sink = new Writable({ write: (b: Buffer, _e, cb) => (out.push(b), cb()) });
      const summary = await writePackets(file, sink, { format: 'tsv', fields: ['frame.number'], header: false });
      await new Promise<void>((res) => sink.end(res));
      expect(Buffer.concat(out).toString()).toBe(Array.from({ length: c.frames }, (_, i) => `${i + 1}\n`).join(''));
      expect(summary.readable).toBe(c.readable);
      if (c.code === null) expect(summary.error).toBeNull();
      else expectOneLine(`ssmcap: ${summary.error!.message}\n`, file, c);
    });

    it(`info: ${c.name}`, async () => {
      const file = fileOf.get(c.name)!;
      const info = await inspectCapture(file);
      expect(info.readable).toBe(c.readable);
      if (c.code === null) expect(info.error).toBeNull();
      else expectOneLine(`ssmcap: ${info.error!.message}\n`, file, c);
      if (c.readable) expect(formatInfoText(info)).toContain(`frames ${c.frames},`);
    });
  }
});

describe.concurrent('CLI', () => {
  it('info over every case in one run: one line per fault, in order, and each file\'s frames', async () => {
    const files = cases.map((c) => fileOf.get(c.name)!);
    const r = await runCli(['info', ...files]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const lines = r.stderr.split('\n');
    const faults = cases.filter((c) => c.code !== null);
    expect(lines, r.stderr).toHaveLength(faults.length + 1);
    faults.forEach((c, i) => expectOneLine(`${lines[i]}\n`, fileOf.get(c.name)!, c));
    const blocks = r.stdout.split(/\n(?=\/)/);
    expect(blocks).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      expect(blocks[i]!.startsWith(`${files[i]}: `), blocks[i]).toBe(true);
      if (c.readable) expect(blocks[i]).toContain(`frames ${c.frames},`);
      else expect(blocks[i]).not.toContain('frames ');
    });
    // unknown link types are reported, not decoded, not an error
    expect(blocks[cases.findIndex((c) => c.name === 'unknown link type (read, not decoded)')]).toContain('LINKTYPE_65000 (65000) x4, not decoded');
  });

  it('picks every kind of case', () => {
    expect(representatives.length).toBeGreaterThanOrEqual(6);
    expect(new Set(representatives.map((c) => c.readable))).toEqual(new Set([true, false]));
    // a readable capture without frames exits 0 (with and without a fault)
    expect(representatives.filter((c) => c.readable && c.frames === 0).map((c) => c.code === null)).toEqual([true, false]);
  });

  for (const c of representatives) {
    it(`packets: ${c.name}`, async () => {
      const file = fileOf.get(c.name)!;
      const r = await runCli(['packets', file, '-e', 'frame.number', '--format', 'tsv', '--no-header']);
      expect(r.stdout).toBe(Array.from({ length: c.frames }, (_, i) => `${i + 1}\n`).join(''));
      if (c.code === null) expect(r.stderr).toBe('');
      else expectOneLine(r.stderr, file, c);
      // exit 65 only when nothing could be read as a capture: a header-only file is a capture with no frames
      expect(r.code).toBe(c.readable ? 0 : 65);
    });
  }

  // info's exit code and lines for one file: readable or not, a fault or none (the run above had each fault's line)
  for (const c of representatives.filter((x, i) => representatives.findIndex((y) => y.readable === x.readable && (y.code === null) === (x.code === null)) === i)) {
    it(`info: ${c.name}`, async () => {
      const file = fileOf.get(c.name)!;
      const r = await runCli(['info', file]);
      if (c.code === null) expect(r.stderr).toBe('');
      else expectOneLine(r.stderr, file, c);
      expect(r.code).toBe(c.readable ? 0 : 65);
      if (c.readable) expect(r.stdout).toContain(`frames ${c.frames},`);
    });
  }

  it('a missing file and a directory: one line, no stack trace', async () => {
    const missing = path.join(dir, 'nope.pcap');
    for (const cmd of ['packets', 'info']) {
      const r = await runCli([cmd, missing]);
      expect(r.code).toBe(65);
      expectOneLine(r.stderr, missing, { offset: 0 });
      expect(r.stderr).toContain('no such file');
    }
    const r = await runCli(['packets', dir]);
    expect(r.code).toBe(2); // a usage error: packets takes one file
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toContain('is a directory');
  });

  it('stdin: frames before a cut are printed, the error names -', async () => {
    const bytes = cases.find((c) => c.name === 'cut mid-record (half-written live capture)')!.bytes;
    const r = await runCli(['packets', '-', '-e', 'frame.number', '--format', 'tsv', '--no-header'], { stdin: bytes });
    expect(r.stdout).toBe('1\n2\n');
    expectOneLine(r.stderr, '-', { offset: good.offsets[2] });
    expect(r.code).toBe(0);
  });
});

function* chunks(b: Uint8Array, n: number): Generator<Uint8Array> {
  for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
}

/**
 * readCapture on good input: pcap and pcapng in every variant the formats allow, gzip by magic, streams,
 * and chunking that must not change a single frame. Files are written by test/helpers/capture-writer.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEpoch } from '../src/input/frame.js';
import { readCapture } from '../src/input/reader.js';
import { ethTcpFrame, inPieces, PcapngWriter, randomBytes, readAll, rng, summaryKey, writePcap, type PcapRecord } from './helpers/capture-writer.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-reader-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
function tmp(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

const next = rng(1);
const payloads = [randomBytes(10, next), randomBytes(0, next), randomBytes(300, next)];
const records: PcapRecord[] = payloads.map((pl, i) => ({ sec: 1700000000 + i, frac: 123456 + i, data: ethTcpFrame(i, pl) }));

/** exact time of `units` at a resolution, computed with BigInt as the reference */
function refTime(units: bigint, tsresol: number, offset = 0n): string {
  const ups = tsresol & 0x80 ? 2n ** BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
  const sec = units / ups + offset;
  const nsec = ((units % ups) * 1_000_000_000n) / ups;
  return formatEpoch(Number(sec), Number(nsec));
}

describe('pcap', () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`${le ? 'little' : 'big'}-endian, ${nano ? 'nanosecond' : 'microsecond'} timestamps`, async () => {
        const w = writePcap({ le, nano, snaplen: 65535, linkType: 1 }, records);
        const { frames, summary } = await readAll(Readable.from([w.bytes]));
        expect(summary.error).toBeNull();
        expect(summary).toMatchObject({ format: 'pcap', byteOrder: le ? 'le' : 'be', readable: true, frames: 3, bytes: w.bytes.length });
        expect(summary.interfaces).toEqual([{ id: 0, section: 0, linkType: 1, snaplen: 65535, tsresol: nano ? 9 : 6, tsoffset: 0, fcsLen: -1 }]);
        expect(frames.map((f) => f.fileOffset)).toEqual(w.offsets);
        for (const [i, f] of frames.entries()) {
          const r = records[i]!;
          expect(f.number).toBe(i + 1);
          expect(f.hex).toBe(Buffer.from(r.data).toString('hex'));
          expect(f.capLen).toBe(r.data.length);
          expect(f.time).toBe(`${r.sec}.${String(nano ? r.frac : r.frac * 1000).padStart(9, '0')}`);
          expect(f.snaplen).toBe(65535);
          expect(f.linkType).toBe(1);
        }
      });
    }
  }

  it('accepts major version 2 with any minor, rejects other majors at the version field', async () => {
    for (const minor of [0, 1, 4, 5, 99, 65535]) {
      const { summary, frames } = await readAll(Readable.from([writePcap({ minor }, records).bytes]));
      expect(summary.error, `2.${minor}`).toBeNull();
      expect(frames).toHaveLength(3);
    }
    for (const major of [0, 1, 3, 0x0200]) {
      const { summary, frames } = await readAll(Readable.from([writePcap({ major }, records).bytes]));
      expect(frames).toHaveLength(0);
      expect(summary.readable).toBe(false);
      expect(summary.error).toMatchObject({ code: 'bad-version', offset: 4 });
      expect(summary.error!.message).toContain(`major version ${major}`);
    }
  });

  it('reads the FCS length from the link-type field and rejects reserved bits', async () => {
    const cases: [number, number, number][] = [
      // field, link type, fcsLen
      [1, 1, -1],
      [0x04000000 | (2 << 28) | 1, 1, 4], // FCS present, 2 words: Ethernet's 4-byte FCS
      [0x04000000 | (1 << 28) | 105, 105, 2],
      [0x04000000 | 1, 1, 0],
      [(2 << 28) | 1, 1, -1], // a length without the "present" bit means nothing
    ];
    for (const [field, lt, fcs] of cases) {
      const { summary, frames } = await readAll(Readable.from([writePcap({ linkTypeField: field }, records).bytes]));
      expect(summary.error).toBeNull();
      expect(frames[0]).toMatchObject({ linkType: lt, fcsLen: fcs });
      expect(summary.interfaces[0]).toMatchObject({ linkType: lt, fcsLen: fcs });
    }
    for (const bit of [16, 20, 25]) {
      const { summary } = await readAll(Readable.from([writePcap({ linkTypeField: (1 << bit) | 1 }, records).bytes]));
      expect(summary.error).toMatchObject({ code: 'bad-linktype', offset: 20 });
      expect(summary.readable).toBe(false);
    }
  });

  it('keeps records longer than the file snaplen (as libpcap does) but not longer than any snaplen', async () => {
    const big = new Uint8Array(70000);
    const w = writePcap({ snaplen: 96 }, [...records, { sec: 1, frac: 0, data: big }, { sec: 2, frac: 0, data: new Uint8Array(262144) }]);
    const { summary, frames } = await readAll(Readable.from([w.bytes]));
    expect(summary.error).toBeNull();
    expect(frames.map((f) => f.capLen)).toEqual([...records.map((r) => r.data.length), 70000, 262144]);
    expect(frames.every((f) => f.snaplen === 96)).toBe(true);

    const bad = writePcap({}, [...records, { sec: 1, frac: 0, data: new Uint8Array(4), inclLen: 262145 }]);
    const r = await readAll(Readable.from([bad.bytes]));
    expect(r.frames).toHaveLength(3);
    expect(r.summary.error).toMatchObject({ code: 'record-too-large', offset: bad.offsets[3], need: 262145 });
  });

  it('carries an invalid timestamp fraction into whole seconds rather than printing nonsense', async () => {
    const w = writePcap({ nano: true }, [{ sec: 10, frac: 1_500_000_000, data: new Uint8Array(1) }]);
    const { frames } = await readAll(Readable.from([w.bytes]));
    expect(frames[0]!.time).toBe('11.500000000');
  });
});

describe('pcapng', () => {
  function basic(le: boolean) {
    const w = new PcapngWriter();
    w.shb({ le });
    w.idb({ linkType: 1, snaplen: 65535 });
    w.epb(0, 1_700_000_000_123_456n, records[0]!.data);
    w.epb(0, 1_700_000_001_000_001n, records[2]!.data, 1000);
    return w.done();
  }

  it('reads a Section Header Block in either byte order the same', async () => {
    const a = await readAll(Readable.from([basic(true).bytes]));
    const b = await readAll(Readable.from([basic(false).bytes]));
    expect(a.summary.error).toBeNull();
    expect(b.summary.error).toBeNull();
    expect(a.summary.byteOrder).toBe('le');
    expect(b.summary.byteOrder).toBe('be');
    expect(b.frames).toEqual(a.frames);
    expect(a.frames.map((f) => [f.time, f.capLen, f.origLen])).toEqual([
      ['1700000000.123456000', records[0]!.data.length, records[0]!.data.length],
      ['1700000001.000001000', records[2]!.data.length, 1000],
    ]);
    expect(a.frames[0]!.hex).toBe(Buffer.from(records[0]!.data).toString('hex'));
  });

  it('reads several sections of different byte orders; interface ids restart in each section', async () => {
    const w = new PcapngWriter();
    w.shb({ le: true });
    w.idb({ linkType: 1, snaplen: 1500 });
    w.epb(0, 1n, Uint8Array.of(1, 2, 3));
    w.shb({ le: false });
    w.idb({ linkType: 0, snaplen: 100, tsresol: 9 });
    w.idb({ linkType: 101, snaplen: 200 });
    const e1 = w.epb(1, 2_000_000n, Uint8Array.of(4, 5));
    w.epb(0, 3_000_000_005n, Uint8Array.of(6));
    w.shb({ le: true });
    w.idb({ linkType: 113 });
    w.epb(0, 4n, Uint8Array.of(7));
    const { bytes } = w.done();
    const { frames, summary } = await readAll(Readable.from([bytes]));
    expect(summary.error).toBeNull();
    expect(summary.byteOrder).toBe('mixed');
    expect(summary.interfaces.map((i) => [i.section, i.id, i.linkType, i.snaplen])).toEqual([
      [0, 0, 1, 1500],
      [1, 0, 0, 100],
      [1, 1, 101, 200],
      [2, 0, 113, 0],
    ]);
    expect(frames.map((f) => [f.number, f.interfaceId, f.linkType, f.snaplen, f.time, f.hex])).toEqual([
      [1, 0, 1, 1500, '0.000001000', '010203'],
      [2, 1, 101, 200, '2.000000000', '0405'],
      [3, 0, 0, 100, '3.000000005', '06'],
      [4, 0, 113, 0, '0.000004000', '07'],
    ]);
    expect(frames[1]!.fileOffset).toBe(e1);
    expect(summary.linkTypes).toEqual([
      { linkType: 1, name: 'EN10MB', frames: 1 },
      { linkType: 101, name: 'RAW', frames: 1 },
      { linkType: 0, name: 'NULL', frames: 1 },
      { linkType: 113, name: 'LINUX_SLL', frames: 1 },
    ]);
  });

  it('converts timestamps exactly for if_tsresol powers of 10 and of 2 and if_tsoffset', async () => {
    const resolutions = [0, 1, 3, 6, 9, 10, 12, 0x80, 0x8a, 0x94, 0x9e, 0xa0, 0xa1, 0xa8];
    const unitsList = [0n, 1n, 999_999n, 1_700_000_000_123_456n, 0xffffffff_ffffffffn, 0x12345678_9abcdef0n, 0x00000001_00000000n];
    const offsets = [undefined, 0n, 3600n, -1_000_000_000n];
    const w = new PcapngWriter();
    w.shb();
    const expected: string[] = [];
    let iface = 0;
    for (const r of resolutions) {
      for (const off of offsets) {
        w.idb({ tsresol: r, tsoffset: off });
        for (const u of unitsList) {
          // seconds past 2^53 (285 million years) are beyond a JS number; not a case to pin down
          if (r === 0 || r === 1 || r === 0x80) {
            if (u >= 2n ** 53n) continue;
          }
          w.epb(iface, u, Uint8Array.of(iface & 0xff));
          expected.push(refTime(u, r, off ?? 0n));
        }
        iface++;
      }
    }
    const { frames, summary } = await readAll(Readable.from([w.done().bytes]));
    expect(summary.error).toBeNull();
    expect(frames.map((f) => f.time)).toEqual(expected);
    // spot checks against values worked out by hand
    expect(refTime(1_700_000_000_123_456n, 6)).toBe('1700000000.123456000');
    expect(refTime(3n, 0x81, -1n)).toBe('0.500000000');
    expect(refTime(1n, 0x8a)).toBe('0.000976562'); // 1/1024 s, floored
    expect(refTime(5n, 0, -10n)).toBe('-5.000000000');
    expect(refTime(55n, 1, -10n)).toBe('-4.500000000');
  });

  it('reads Enhanced, Simple and obsolete Packet Blocks, and counts custom blocks as frames', async () => {
    const w = new PcapngWriter();
    w.shb();
    w.idb({ linkType: 1, snaplen: 4, fcslen: 4 });
    w.idb({ linkType: 105, snaplen: 0 });
    w.epb(0, 10n, Uint8Array.of(1, 2, 3, 4));
    w.spb(Uint8Array.of(9, 8, 7, 6, 5), 64); // snaplen of interface 0 (4) cuts the 5 bytes present
    w.custom(32473, Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd));
    w.pb(1, 20n, Uint8Array.of(5, 6));
    w.custom(32473, Uint8Array.of(0xee), false);
    w.spb(Uint8Array.of(1, 2), 2);
    const { frames, summary } = await readAll(Readable.from([w.done().bytes]));
    expect(summary.error).toBeNull();
    expect(frames.map((f) => [f.number, f.kind, f.hasTime, f.linkType, f.interfaceId, f.capLen, f.origLen, f.fcsLen])).toEqual([
      [1, 'packet', true, 1, 0, 4, 4, 4],
      [2, 'packet', false, 1, 0, 4, 64, 4],
      [3, 'custom', false, -1, -1, 4, 4, -1],
      [4, 'packet', true, 105, 1, 2, 2, -1],
      [5, 'custom', false, -1, -1, 4, 4, -1], // one byte of data, padded to 4 (as tshark counts it)
      [6, 'packet', false, 1, 0, 2, 2, 4],
    ]);
    expect(frames[1]!.hex).toBe('09080706');
    expect(frames[2]!.hex).toBe('aabbccdd');
    expect(summary.frames).toBe(6);
    // custom blocks have no link type and are not counted under one
    expect(summary.linkTypes).toEqual([
      { linkType: 1, name: 'EN10MB', frames: 3 },
      { linkType: 105, name: 'IEEE802_11', frames: 1 },
    ]);
  });

  it('skips blocks it does not know and keeps Decryption Secrets Blocks', async () => {
    const keylog = new TextEncoder().encode('CLIENT_RANDOM 00 11\n');
    const w = new PcapngWriter();
    w.shb({ options: [{ code: 1, value: new TextEncoder().encode('a comment') }] });
    w.block(0x12345678, (s, le) => s.u32(7, le));
    w.idb({ name: 'eth0' });
    w.block(4, (s, le) => s.u32(0, le)); // Name Resolution Block
    const dsbAt = w.dsb(0x544c534b, keylog);
    w.epb(0, 5n, Uint8Array.of(1));
    w.block(5, (s, le) => { s.u32(0, le); s.u32(0, le); s.u32(0, le); }); // Interface Statistics Block
    w.block(0x80000001, () => {}); // local use, empty body
    w.epb(0, 6n, Uint8Array.of(2));
    const { frames, summary } = await readAll(Readable.from([w.done().bytes]));
    expect(summary.error).toBeNull();
    expect(frames.map((f) => f.hex)).toEqual(['01', '02']);
    expect(summary.interfaces[0]!.name).toBe('eth0');
    expect(summary.secrets).toHaveLength(1);
    expect(summary.secrets[0]!.type).toBe(0x544c534b);
    expect(summary.secrets[0]!.fileOffset).toBe(dsbAt);
    expect(new TextDecoder().decode(summary.secrets[0]!.data)).toBe('CLIENT_RANDOM 00 11\n');
  });
});

describe('inputs', () => {
  const pcap = writePcap({}, records).bytes;

  it('detects gzip by its magic, not by the file name', async () => {
    const plain = await readAll(tmp('plain.pcap', pcap));
    const a = await readAll(tmp('compressed.pcap', gzipSync(pcap)));
    const b = await readAll(tmp('not-compressed.pcap.gz', pcap));
    expect(plain.summary.error).toBeNull();
    expect(a.summary).toMatchObject({ compression: 'gzip', error: null, bytes: pcap.length });
    expect(b.summary.compression).toBeNull();
    expect(a.frames).toEqual(plain.frames);
    expect(b.frames).toEqual(plain.frames);
    // and a gzip magic split over 1-byte chunks is still gzip
    const c = await readAll(inPieces(gzipSync(pcap), [1]));
    expect(c.summary.compression).toBe('gzip');
    expect(c.frames).toEqual(plain.frames);
  });

  it('reads stdin-like streams: a Readable and an async iterable of odd-sized pieces', async () => {
    const plain = await readAll(tmp('s.pcap', pcap));
    const fromReadable = await readAll(Readable.from([Buffer.from(pcap)]), { name: 'pipe' });
    const fromIterable = await readAll(inPieces(pcap, [7, 0, 3]));
    expect(fromReadable.summary.file).toBe('pipe');
    expect(fromIterable.summary.file).toBe('-');
    expect(fromReadable.frames).toEqual(plain.frames);
    expect(fromIterable.frames).toEqual(plain.frames);
    expect(summaryKey(fromIterable.summary)).toEqual(summaryKey(plain.summary));
  });

  it('does not take an empty first chunk for an empty file', async () => {
    async function* gen() {
      yield new Uint8Array(0);
      yield new Uint8Array(0);
      yield pcap;
    }
    const r = await readAll(gen());
    expect(r.summary.error).toBeNull();
    expect(r.frames).toHaveLength(3);
  });

  it('gives the same frames for a record split across two chunks at every possible point', async () => {
    const w = new PcapngWriter();
    w.shb({ le: false });
    w.idb({ snaplen: 1000 });
    w.epb(0, 1n, records[2]!.data);
    w.custom(1, Uint8Array.of(1, 2, 3, 4));
    w.shb({ le: true });
    w.idb({ tsresol: 0x89 });
    w.epb(0, 77n, records[0]!.data);
    for (const bytes of [writePcap({ le: false, nano: true }, records).bytes, w.done().bytes]) {
      const whole = await readAll(Readable.from([bytes]));
      expect(whole.summary.error).toBeNull();
      for (let k = 1; k < bytes.length; k++) {
        const r = await readAll(inPieces(bytes, [k, bytes.length]));
        expect(r.frames, `split at ${k}`).toEqual(whole.frames);
        expect(summaryKey(r.summary)).toEqual(summaryKey(whole.summary));
      }
      const bytewise = await readAll(inPieces(bytes, [1]));
      expect(bytewise.frames).toEqual(whole.frames);
    }
  });

  it('reads a large synthetic file with small chunks to identical frames', async () => {
    const next = rng(42);
    const recs: PcapRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const n = i % 500 === 7 ? 65000 : Math.floor(next() * 1600);
      recs.push({ sec: 1_700_000_000 + i, frac: Math.floor(next() * 1e6), data: randomBytes(n, next) });
    }
    const bytes = writePcap({}, recs).bytes;
    const p = tmp('large.pcap', bytes);
    const digest = async (chunkSize: number) => {
      const h = { n: 0, sum: 0, last: '' };
      const s = await readCapture(
        p,
        (f) => {
          h.n++;
          for (let i = 0; i < f.capLen; i += 97) h.sum = (h.sum * 31 + f.buf[f.offset + i]! + f.fileOffset) % 2147483647;
          h.last = f.timeEpoch();
        },
        { chunkSize },
      );
      return { ...h, error: s.error, bytes: s.bytes };
    };
    const ref = await digest(1 << 20);
    expect(ref).toMatchObject({ n: 3000, error: null, bytes: bytes.length });
    for (const cs of [65536, 4096, 997]) expect(await digest(cs), `chunkSize ${cs}`).toEqual(ref);
    // and record by record, not just by digest
    const a = await readAll(p, { chunkSize: 1 << 20 });
    const b = await readAll(p, { chunkSize: 333 });
    expect(b.frames).toEqual(a.frames);
  });

  it('reads a gzip file that spans many reused read buffers to the frames of the plain file', async () => {
    // the file reader reuses two buffers; what it hands zlib must survive the next read
    const next = rng(7);
    const recs: PcapRecord[] = [];
    for (let i = 0; i < 2000; i++) recs.push({ sec: 1_700_000_000 + i, frac: i, data: randomBytes(Math.floor(next() * 1600), next) });
    const bytes = writePcap({}, recs).bytes;
    const plain = await readAll(tmp('large-gz-ref.pcap', bytes));
    const gz = tmp('large.pcap.gz', gzipSync(bytes));
    for (const chunkSize of [65536, 4093]) {
      const r = await readAll(gz, { chunkSize });
      expect(r.summary, `chunkSize ${chunkSize}`).toMatchObject({ compression: 'gzip', error: null, bytes: bytes.length });
      expect(r.frames, `chunkSize ${chunkSize}`).toEqual(plain.frames);
    }
  });
});

/**
 * Properties of the reader over real captures (captures/) and pcapng files rebuilt from them:
 * (a) a prefix of a capture reads as a prefix of its frames, with one clean error unless the cut falls
 *     on a record boundary; (b) mutated bytes never make readCapture, or decoding its frames, throw;
 * (c) how the input is chunked changes nothing, on valid and on mutated input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CaptureError } from '../src/errors.js';
import { inPieces, PcapngWriter, readAll, summaryKey, type FrameRecord } from './helpers/capture-writer.js';

const CAPTURES = path.join(import.meta.dirname, '..', 'captures');
const PCAPS = ['a05-port-closed-rst.pcap', 'a09-icmp6-adm-prohibited-ipv6.pcap', 'a11-tls-version-mismatch.pcap', 'a19-auth-403-snaplen128.pcap'];

interface Seed {
  name: string;
  bytes: Uint8Array;
  /** offsets at which a prefix is a whole file (header end, then every record or block end) */
  boundaries: number[];
  frames: FrameRecord[];
}

/** the same packets in pcapng: two sections of different byte orders, EPB, SPB, a custom block and a DSB */
function asPcapng(frames: FrameRecord[]): { bytes: Uint8Array; boundaries: number[] } {
  const w = new PcapngWriter();
  const half = Math.ceil(frames.length / 2);
  w.shb({ le: true });
  w.idb({ linkType: frames[0]!.linkType, snaplen: 65535, tsresol: 9 });
  w.dsb(0x544c534b, new TextEncoder().encode('CLIENT_RANDOM aa bb\n'));
  frames.slice(0, half).forEach((f, i) => {
    const data = Buffer.from(f.hex, 'hex');
    if (i === 1) w.spb(data, f.origLen);
    else w.epb(0, BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec), data, f.origLen);
  });
  w.custom(32473, Uint8Array.of(1, 2, 3));
  w.shb({ le: false });
  w.idb({ linkType: 0, snaplen: 0 });
  w.idb({ linkType: frames[0]!.linkType, snaplen: 65535, tsresol: 0x94, tsoffset: 100n });
  for (const f of frames.slice(half)) w.epb(1, BigInt(f.tsSec) << 20n, Buffer.from(f.hex, 'hex'), f.origLen);
  const d = w.done();
  return { bytes: d.bytes, boundaries: d.boundaries.slice(1) };
}

const seeds: Seed[] = [];
beforeAll(async () => {
  for (const [n, name] of PCAPS.entries()) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(CAPTURES, name)));
    const { frames, summary } = await readAll(Readable.from([bytes]));
    expect(summary.error, name).toBeNull();
    expect(frames.length, name).toBeGreaterThan(0);
    seeds.push({ name, bytes, frames, boundaries: [24, ...frames.map((f) => f.fileOffset + 16 + f.capLen)] });
    if (n < 2) {
      const ng = asPcapng(frames);
      const r = await readAll(Readable.from([ng.bytes]));
      expect(r.summary.error).toBeNull();
      expect(r.frames.filter((f) => f.kind === 'packet').map((f) => f.hex)).toEqual(frames.map((f) => f.hex));
      seeds.push({ name: `${name} as pcapng`, bytes: ng.bytes, frames: r.frames, boundaries: ng.boundaries });
    }
  }
  expect(seeds).toHaveLength(PCAPS.length + 2);
});

/** what a prefix of `k` bytes must read as */
function expectPrefix(seed: Seed, k: number, r: Awaited<ReturnType<typeof readAll>>): void {
  const end = (f: FrameRecord) => seed.boundaries.find((b) => b > f.fileOffset)!;
  expect(r.frames).toEqual(seed.frames.filter((f) => end(f) <= k));
  const e = r.summary.error;
  if (k === 0) {
    expect(e?.code).toBe('empty');
  } else if (seed.boundaries.includes(k)) {
    expect(e).toBeNull();
  } else {
    const at = seed.boundaries.filter((b) => b < k).pop() ?? 0;
    expect(e).toBeInstanceOf(CaptureError);
    expect({ code: e!.code, offset: e!.offset }).toEqual({ code: 'truncated', offset: at });
    expect(e!.message).not.toContain('\n');
  }
  expect(r.summary.readable).toBe(k >= seed.boundaries[0]!);
}

describe('(a) any prefix of a capture', () => {
  it('reads as a prefix of its frames, with one clean error unless cut on a boundary', async () => {
    for (const seed of seeds) {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: seed.bytes.length }), async (k) => {
          expectPrefix(seed, k, await readAll(Readable.from([seed.bytes.subarray(0, k)])));
        }),
        { numRuns: 60, examples: seed.boundaries.slice(0, 3).flatMap((b) => [b - 1, b, b + 1].filter((k) => k <= seed.bytes.length).map((k) => [k] as [number])) },
      );
    }
  });

  it('holds for every prefix of the smallest pcap and pcapng, read in 5-byte pieces', async () => {
    for (const seed of [seeds[0]!, seeds[1]!]) {
      expect(seed.name).toMatch(/^a05/);
      for (let k = 0; k <= seed.bytes.length; k++) {
        const prefix = seed.bytes.subarray(0, k);
        expectPrefix(seed, k, await readAll(k === 0 ? Readable.from([]) : inPieces(prefix, [5])));
      }
    }
  });
});

type Mutation = { op: 'flip'; at: number; bit: number } | { op: 'set'; at: number; value: number } | { op: 'insert'; at: number; bytes: number[] } | { op: 'delete'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x01, 0x0a, 0x0d) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 9 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 9 }) }),
);

function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Array.from(bytes);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 'flip') b[at] = (b[at] ?? 0) ^ (1 << m.bit);
    else if (m.op === 'set') b[at] = m.value;
    else if (m.op === 'insert') b = [...b.slice(0, at), ...m.bytes, ...b.slice(at)];
    else b.splice(at, m.n);
  }
  return Uint8Array.from(b);
}

describe('(b) mutated captures', () => {
  it('never make readCapture or the decoder throw; a fault is one clean CaptureError inside the input', async () => {
    const inputs = [...seeds.map((s) => s.bytes), gzipSync(seeds[0]!.bytes)];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: inputs.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (i, ms) => {
        const bytes = mutate(inputs[i]!, ms);
        const { frames, summary } = await readAll(Readable.from(bytes.length ? [bytes] : []), { decode: true });
        expect(summary.frames).toBe(frames.length);
        const e = summary.error;
        if (e) {
          expect(e).toBeInstanceOf(CaptureError);
          expect(e.message).not.toContain('\n');
          expect(e.offset).toBeGreaterThanOrEqual(0);
          if (!e.decompressed) expect(e.offset).toBeLessThanOrEqual(bytes.length);
        }
        for (const f of frames) expect(f.hex.length).toBe(f.capLen * 2);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('(c) chunking', () => {
  it('random chunk sizes give identical frames and summaries, on valid and on mutated input', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(mutation, { maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 12 }).filter((a) => a.some((n) => n > 0)),
        async (i, ms, sizes) => {
          const bytes = mutate(seeds[i]!.bytes, ms);
          const whole = await readAll(Readable.from(bytes.length ? [bytes] : []));
          const pieces = await readAll(inPieces(bytes, sizes));
          expect(pieces.frames).toEqual(whole.frames);
          expect(summaryKey(pieces.summary)).toEqual(summaryKey(whole.summary));
        },
      ),
      { numRuns: 300 },
    );
  });
});

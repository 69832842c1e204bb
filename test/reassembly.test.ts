/**
 * StreamReassembler against the stream it rebuilds: whatever the order the segments arrive in, however
 * they overlap or repeat, the consumer gets each byte once, in order, and every byte it does not get is
 * a gap of the right kind (the snaplen cut it, or it never came) at the right offset.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamReassembler, type GapKind, type StreamConsumer } from '../src/flow/reassembly.js';

class Collect implements StreamConsumer {
  /** what arrived, in order: data pieces and gaps */
  readonly parts: { off: number; len: number; bytes: Uint8Array | null; kind: GapKind | 'data' }[] = [];
  data(bytes: Uint8Array, off: number): void {
    this.parts.push({ off, len: bytes.length, bytes: bytes.slice(), kind: 'data' });
  }
  gap(len: number, off: number, kind: GapKind): void {
    this.parts.push({ off, len, bytes: null, kind });
  }
}

/** segments [start, end) of a stream of `n` bytes cut at `cuts` (fractions) */
function segmentsOf(n: number, cuts: number[]): [number, number][] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * n)).filter((p) => p > 0 && p < n))].sort((a, b) => a - b);
  const edges = [0, ...points, n];
  return edges.slice(1).map((e, i) => [edges[i]!, e]);
}

/** the parts tile [0, end): each starts where the one before ended */
function expectTiled(parts: Collect['parts'], end: number): void {
  let at = 0;
  for (const p of parts) {
    expect(p.off).toBe(at);
    expect(p.len).toBeGreaterThan(0);
    at += p.len;
  }
  expect(at).toBe(end);
}

const streamArb = fc.uint8Array({ minLength: 1, maxLength: 3000 });
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 });
/** sort keys: the arrival order */
const orderArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 80, maxLength: 80 });

describe('StreamReassembler', () => {
  it('delivers every byte once and in order, whatever the arrival order, overlaps and repeats', () => {
    fc.assert(
      fc.property(streamArb, cutsArb, orderArb, fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 10 }), (s, cuts, order, extra) => {
        const segs = segmentsOf(s.length, cuts);
        // retransmissions of any range, cut differently from the first sending (overlapping it)
        for (const [a, b] of extra) {
          const x = Math.floor(Math.min(a, b) * s.length);
          const y = Math.max(x + 1, Math.ceil(Math.max(a, b) * s.length));
          if (y <= s.length) segs.push([x, y]);
        }
        const arrival = segs.map((g, i) => ({ g, k: order[i % order.length]! + i * 1e-9 })).sort((p, q) => p.k - q.k);
        const c = new Collect();
        const r = new StreamReassembler(c);
        arrival.forEach(({ g: [a, b] }, i) => r.segment(a, b - a, s.subarray(a, b), i + 1, i));
        r.flush(arrival.length);
        expectTiled(c.parts, s.length);
        expect(c.parts.every((p) => p.kind === 'data')).toBe(true);
        expect(Buffer.concat(c.parts.map((p) => p.bytes!))).toEqual(Buffer.from(s));
        expect(r.stats.delivered).toBe(s.length);
        expect(r.stats.lostBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('marks the bytes that never came as lost, where they were', () => {
    fc.assert(
      fc.property(streamArb, cutsArb, orderArb, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (s, cuts, order, dropped) => {
        const segs = segmentsOf(s.length, cuts);
        const kept = segs.filter((_, i) => !dropped[i % dropped.length]);
        const arrival = kept.map((g, i) => ({ g, k: order[i % order.length]! + i * 1e-9 })).sort((p, q) => p.k - q.k);
        const c = new Collect();
        const r = new StreamReassembler(c);
        arrival.forEach(({ g: [a, b] }, i) => r.segment(a, b - a, s.subarray(a, b), i + 1, i));
        r.flush(arrival.length);
        // the stream is known up to the end of the last segment that came
        const end = kept.length ? Math.max(...kept.map(([, b]) => b)) : 0;
        expectTiled(c.parts, end);
        const have = new Uint8Array(s.length);
        for (const [a, b] of kept) have.fill(1, a, b);
        for (const p of c.parts) {
          if (p.kind === 'data') {
            expect(Buffer.from(p.bytes!)).toEqual(Buffer.from(s.subarray(p.off, p.off + p.len)));
            expect(have.subarray(p.off, p.off + p.len).every((x) => x === 1)).toBe(true);
          } else {
            expect(p.kind).toBe('loss');
            expect(have.subarray(p.off, p.off + p.len).every((x) => x === 0)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the captured start of a segment the snaplen cut, and the rest as a snaplen gap', () => {
    fc.assert(
      fc.property(streamArb, cutsArb, orderArb, fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 20 }), (s, cuts, order, snap) => {
        const segs = segmentsOf(s.length, cuts);
        const arrival = segs.map((g, i) => ({ g, cap: snap[i % snap.length]!, k: order[i % order.length]! + i * 1e-9 })).sort((p, q) => p.k - q.k);
        const c = new Collect();
        const r = new StreamReassembler(c);
        arrival.forEach(({ g: [a, b], cap }, i) => {
          const n = Math.min(cap, b - a);
          r.segment(a, b - a, s.subarray(a, a + n), i + 1, i);
        });
        r.flush(arrival.length);
        expectTiled(c.parts, s.length);
        let captured = 0;
        for (const p of c.parts) {
          if (p.kind === 'data') {
            captured += p.len;
            expect(Buffer.from(p.bytes!)).toEqual(Buffer.from(s.subarray(p.off, p.off + p.len)));
          } else expect(p.kind).toBe('snaplen');
        }
        expect(captured).toBe(segs.reduce((a, [x, y]) => a + Math.min(snap[segs.findIndex((g) => g[0] === x)! % snap.length]!, y - x), 0));
        expect(r.stats.snaplenBytes).toBe(s.length - captured);
      }),
      { numRuns: 300 },
    );
  });
});

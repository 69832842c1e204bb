/**
 * TlsStream against the byte stream it is given: however a stream is cut into TCP segments, and however
 * its handshake messages are fragmented into records (a message may span many records, RFC 8446 5.1),
 * the records, the handshake messages and the ClientHello's fields read from it are the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamReassembler } from '../src/flow/reassembly.js';
import { TlsStream } from '../src/protocols/tls.js';

function u16(n: number): number[] {
  return [(n >> 8) & 255, n & 255];
}

function u24(n: number): number[] {
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function ext(type: number, body: number[]): number[] {
  return [...u16(type), ...u16(body.length), ...body];
}

/** a ClientHello handshake message (header included) with SNI, supported_versions and padding */
function clientHello(sni: string, suites: number[], padding: number): number[] {
  const name = [...Buffer.from(sni, 'ascii')];
  const exts = [
    ...ext(0, [...u16(name.length + 3), 0, ...u16(name.length), ...name]),
    ...ext(43, [4, 3, 4, 3, 3]),
    ...ext(21, new Array<number>(padding).fill(0)),
  ];
  const body = [3, 3, ...new Array<number>(32).fill(7), 0, ...u16(suites.length * 2), ...suites.flatMap(u16), 1, 0, ...u16(exts.length), ...exts];
  return [1, ...u24(body.length), ...body];
}

function record(type: number, body: number[]): number[] {
  return [type, 3, 3, ...u16(body.length), ...body];
}

/** the handshake bytes cut into records of the given fragment sizes (cycled), then CCS and application data */
function stream(handshake: number[], fragments: number[], appData: number[]): Uint8Array {
  const out: number[] = [];
  let p = 0;
  for (let i = 0; p < handshake.length; i++) {
    const n = Math.min(fragments[i % fragments.length]!, handshake.length - p);
    out.push(...record(22, handshake.slice(p, p + n)));
    p += n;
  }
  out.push(...record(20, [1]));
  for (const n of appData) out.push(...record(23, new Array<number>(n).fill(0xab)));
  return Uint8Array.from(out);
}

function feed(bytes: Uint8Array, chunks: number[]): TlsStream {
  const t = new TlsStream();
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = Math.min(chunks[i % chunks.length]!, bytes.length - off);
    // a copy per segment, as the reassembler hands out bytes valid during the call only
    t.data(bytes.slice(off, off + n), off, i + 1, i);
    off += n;
  }
  return t;
}

function facts(t: TlsStream) {
  return {
    records: t.records.map((r) => ({ type: r.type, length: r.length, off: r.off, handshakes: [...r.handshakes], cut: r.cut })),
    handshakeTypes: t.handshakeTypes.map((h) => h.type),
    sni: t.clientHello?.sni ?? null,
    suites: t.clientHello?.cipherSuites ?? null,
    versions: t.clientHello?.supportedVersions ?? null,
    state: t.state,
  };
}

describe('TlsStream', () => {
  it('reads the same records and messages however the stream is segmented and the messages fragmented', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]{1,20}\.example$/),
        fc.array(fc.integer({ min: 1, max: 0xfeff }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 6000 }),
        // (fragments of at least 40 bytes: at most 256 records are kept, the rest only counted)
        fc.array(fc.integer({ min: 40, max: 1200 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 1600 }), { minLength: 1, maxLength: 8 }),
        (sni, suites, padding, fragments, appData, chunks) => {
          const hello = clientHello(sni, suites, padding);
          // a second message after the hello, in the same records (client_key_exchange, not parsed)
          const hs = [...hello, 16, ...u24(33), 32, ...new Array<number>(32).fill(9)];
          const bytes = stream(hs, fragments, appData);
          const whole = facts(feed(bytes, [bytes.length]));
          // the reference: what was built
          expect(whole.sni).toBe(sni);
          expect(whole.suites).toEqual(suites);
          expect(whole.versions).toEqual([0x0304, 0x0303]);
          expect(whole.handshakeTypes).toEqual([1, 16]);
          const hsRecords = whole.records.filter((r) => r.type === 22);
          expect(hsRecords.reduce((a, r) => a + r.length, 0)).toBe(hs.length);
          expect(whole.records.filter((r) => r.type === 23).map((r) => r.length)).toEqual(appData);
          // each message is counted in the record where it ends
          expect(hsRecords.flatMap((r) => r.handshakes)).toEqual([1, 16]);
          expect(facts(feed(bytes, chunks))).toEqual(whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps every record boundary when the snaplen cuts payloads but not record headers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 40, max: 1200 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 6000 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 1600 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 8 }),
        (padding, fragments, appData, segSizes, extra) => {
          const bytes = stream(clientHello('ssm.example', [0x1301], padding), fragments, appData);
          const whole = feed(bytes, [bytes.length]).records;
          // where the headers lie: every segment captures at least up to the last header byte in it
          const headerByte = new Uint8Array(bytes.length);
          for (const r of whole) headerByte.fill(1, r.off, r.off + 5);
          const t = new TlsStream();
          const reasm = new StreamReassembler(t);
          const captured = new Uint8Array(bytes.length);
          let off = 0;
          for (let i = 0; off < bytes.length; i++) {
            const n = Math.min(segSizes[i % segSizes.length]!, bytes.length - off);
            let need = 0;
            for (let k = off; k < off + n; k++) if (headerByte[k]) need = k - off + 1;
            const cap = Math.min(n, need + extra[i % extra.length]!);
            captured.fill(1, off, off + cap);
            reasm.segment(off, n, bytes.subarray(off, off + cap), i + 1, i);
            off += n;
          }
          expect(t.records.map((r) => [r.type, r.length, r.off])).toEqual(whole.map((r) => [r.type, r.length, r.off]));
          // a record is cut exactly when some byte of its body was not captured
          expect(t.records.map((r) => r.cut)).toEqual(whole.map((r) => !captured.subarray(r.off + 5, r.off + 5 + r.length).every((x) => x === 1)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a message split one byte per record still parses (its buffer grows as the pieces come)', () => {
    const hello = clientHello('ssm.example', [0x1301, 0xc02f], 4000);
    const bytes = stream(hello, [1], []);
    const t = feed(bytes, [7, 300, 1, 5000]);
    expect(t.clientHello?.sni).toBe('ssm.example');
    // (records past the first 256 are counted, not kept)
    expect(t.recordCount).toBe(hello.length + 1);
    expect(t.handshakeTypes.map((h) => h.type)).toEqual([1]);
  });
});

describe('holes the capture missed: whether they hold whole records', () => {
  const app = (n: number) => record(23, new Array<number>(n).fill(9));
  const feed = (parts: (number[] | number)[]) => {
    const t = new TlsStream();
    const hello = record(22, clientHello('ssm.example', [0x1301], 0));
    t.data(Uint8Array.from(hello), 0, 1, 0);
    let off = hello.length;
    let frame = 2;
    for (const p of parts) {
      if (typeof p === 'number') {
        t.gap(p, off, 'loss', frame++);
        off += p;
      } else {
        t.data(Uint8Array.from(p), off, frame++, 0);
        off += p.length;
      }
    }
    return t.records.filter((r) => r.lost);
  };

  it('a hole from a record boundary to the next record header holds whole records', () => {
    const [hole] = feed([app(30), 24, app(40)]);
    expect(hole).toMatchObject({ length: 24, startsAtRecord: true, endsAtRecord: true });
  });

  it('a hole from a record boundary that is the last of the stream is not known to end at one', () => {
    const [hole] = feed([app(30), 24]);
    expect(hole).toMatchObject({ length: 24, startsAtRecord: true, endsAtRecord: false });
  });

  it('a hole followed by bytes that are no record header does not end at a record', () => {
    const [hole] = feed([app(30), 24, [1, 2, 3, 4, 5, 6, 7, 8]]);
    expect(hole).toMatchObject({ startsAtRecord: true, endsAtRecord: false });
  });

  it("a hole inside a record's body, and the bytes after it, do not start at a record", () => {
    const whole = app(40);
    const holes = feed([app(30), whole.slice(0, 10), 35, 24, app(12)]);
    // the record's missing 35 bytes end it (its length is known), so the 24 after them start at a record
    expect(holes).toHaveLength(1);
    expect(holes[0]).toMatchObject({ length: 24, startsAtRecord: true, endsAtRecord: true });
    // (a hole after 3 bytes of a record header)
    const [mid] = feed([app(30), whole.slice(0, 3), 40, app(12)]);
    expect(mid).toMatchObject({ startsAtRecord: false });
  });
});

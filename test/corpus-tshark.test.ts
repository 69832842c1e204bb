/**
 * ssmcap's reader and decoder against tshark 4.0.17, field for field, on the real captures in
 * test/corpus/ (refs made by the command in test/corpus/ref/TSHARK_VERSION).
 *
 * For every `ref/<capture>.tshark.tsv`, each frame's non-tls columns are compared by exact string
 * equality with the `text()` of ssmcap's field of the same name (tshark -T fields formatting). Where a
 * frame holds two IP headers (an ICMP error quoting a packet), tshark prints the values of both,
 * comma-separated: the first is compared with ssmcap's outer header, the rest with its icmp.quoted record.
 *
 * Every difference must be listed in EXCEPTIONS below with the exact values on both sides and a reason;
 * a listed difference that no longer occurs fails too, so the table cannot go stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Decoder, Frame, readCapture, TcpStreamIndex } from '../src/index.js';
import { differences, readTsv, ssmcapRows, type Difference } from './helpers/tshark.js';

const CORPUS = path.join(import.meta.dirname, 'corpus');
const REF = path.join(CORPUS, 'ref');

interface Exception extends Difference {
  reason: string;
}

/**
 * Differences ssmcap keeps on purpose, per file, frame and field, with the exact values on both sides.
 * Keep it small: a difference where ssmcap is wrong is fixed in the decoder, not listed here.
 */
const PARTIAL_QUOTE =
  'ICMP frag-needed quoting 548 of a 1500-byte datagram: tshark checksums the partial TCP segment and calls it Bad; ssmcap gives no verdict on a quoted header';
const TUNNEL = 'IPv6-in-IPv6 behind a segment routing header: tshark also decodes the inner IPv6 header, ssmcap decodes only the outer IP';

const EXCEPTIONS: Record<string, Exception[]> = {
  // nanosecond fractions >= 1e9 (the file's point): tshark prints them as they are (frame 2) or wraps to a
  // negative time (frame 3, fraction 2^31 read as signed); ssmcap carries whole seconds into the seconds
  'td__timestamp_invalid_nano.pcap': [
    { frame: 2, field: 'frame.time_epoch', tshark: '1418145370.1000000000', ssmcap: '1418145371.000000000', reason: 'fraction 1e9 ns: carried as one second' },
    { frame: 3, field: 'frame.time_epoch', tshark: '-1418145370.2147483648', ssmcap: '1418145372.147483648', reason: 'fraction 2147483648 ns: carried as two seconds' },
  ],
  'td__ipv6-srh-ext-header.pcap': [
    { frame: 1, field: 'ipv6.src', tshark: 'a:b:c:12::1,a:b:c:12::1', ssmcap: 'a:b:c:12::1', reason: TUNNEL },
    { frame: 1, field: 'ipv6.dst', tshark: 'a:b:c:2::f1:0,b2::2', ssmcap: 'a:b:c:2::f1:0', reason: TUNNEL },
  ],
  'zk__smtp.pcap': [26, 28, 29, 30].map((frame) => ({ frame, field: 'tcp.checksum.status', tshark: '0', ssmcap: '', reason: PARTIAL_QUOTE })),
};

const refs = fs
  .readdirSync(REF)
  .filter((f) => f.endsWith('.tshark.tsv'))
  .sort();

describe('ssmcap agrees with tshark 4.0.17 on the corpus', () => {
  it('has the corpus', () => {
    expect(refs.length).toBeGreaterThan(80);
  });

  it.each(refs)('%s', async (refName) => {
    const capture = refName.slice(0, -'.tshark.tsv'.length);
    const ref = readTsv(path.join(REF, refName));
    const { rows, error } = await ssmcapRows(path.join(CORPUS, capture), ref.columns);
    // tshark read the whole file without complaint, so ssmcap must too
    expect(error).toBeNull();
    expect(rows.length).toBe(ref.rows.length);
    const found = differences(ref, rows);
    const expected = (EXCEPTIONS[capture] ?? []).map(({ reason: _reason, ...d }) => d);
    if (process.env.SSMCAP_PRINT_DIFFS) for (const d of found) console.log(capture, JSON.stringify(d));
    expect(found).toEqual(expected);
  });

  it('lists exceptions only for captures that exist', () => {
    for (const capture of Object.keys(EXCEPTIONS)) expect(refs).toContain(`${capture}.tshark.tsv`);
  });
});

describe('tcp.stream of the TCP header an ICMP error quotes', () => {
  /** every frame of a capture, copied out of the reader's reused Frame */
  async function framesOf(capture: string): Promise<Frame[]> {
    const out: Frame[] = [];
    await readCapture(path.join(CORPUS, capture), (f) => {
      const c = Object.assign(new Frame(), f);
      c.buf = f.bytes();
      c.view = new DataView(c.buf.buffer);
      c.offset = 0;
      out.push(c);
    });
    return out;
  }

  it('opens the conversation when it was not seen before, as tshark does', async () => {
    // zk__smtp frame 26 (ICMP frag-needed quoting 10.10.1.4:1470 -> 74.53.140.153:25) moved to the front:
    // tshark 4.0.17 on that file (mergecap -a of `editcap -r zk__smtp.pcap x 26` and zk__smtp.pcap) gives
    // the quote tcp.stream 0, and every later frame the tcp.stream of the untouched file, so the SYN that
    // follows joins the conversation the quote opened.
    const frames = await framesOf('zk__smtp.pcap');
    const ref = readTsv(path.join(REF, 'zk__smtp.pcap.tshark.tsv'));
    const col = ref.columns.indexOf('tcp.stream');
    const decoder = new Decoder();
    const streams = new TcpStreamIndex();
    const icmp = decoder.decode(frames[25]!);
    expect(icmp.quoted.present).toBe(true);
    expect(icmp.isTcp).toBe(false);
    expect(streams.quotedIndex(icmp)).toBe(0);
    const got = new Decoder();
    const mine = frames.map((f) => {
      const p = got.decode(f);
      const outer = p.isTcp ? streams.index(p) : -1;
      const quoted = streams.quotedIndex(p);
      return outer >= 0 ? String(outer) : quoted >= 0 ? String(quoted) : '';
    });
    expect(mine).toEqual(ref.rows.map((r) => r[col]));
  });
});


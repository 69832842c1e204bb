/**
 * Packets the capture missed (tcpdump's "packets dropped by kernel", a SPAN port that drops) are not packets
 * the network lost: the receiver acknowledged those bytes (Wireshark's "ACKed segment that wasn't captured",
 * Zeek's capture_loss). Every sample capture with one data segment left out, one at a time, must keep its
 * verdict and reason, except where the left-out segment held the very bytes that tell (listed, with why).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCapture, type ServerResult } from '../src/diagnose/analyze.js';
import { StreamReassembler, type GapKind, type StreamConsumer } from '../src/flow/reassembly.js';
import { ROOT } from './helpers/cli.js';
import { labels, reasonMatches, type Label } from './helpers/labels.js';

/** the classic pcap records of a file: [start, end) of each (header included) */
function pcapRecords(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let o = 24; o + 16 <= buf.length; ) {
    const cl = buf.readUInt32LE(o + 8);
    out.push([o, o + 16 + cl]);
    o += 16 + cl;
  }
  return out;
}

/** whether a frame (link type 1, 113, 276 or 0) is a TCP segment with payload */
function isTcpData(d: Buffer, link: number): boolean {
  let ip = link === 1 ? 14 : link === 113 ? 16 : link === 276 ? 20 : link === 0 ? 4 : -1;
  if (ip < 0 || d.length < ip + 20) return false;
  if (link === 1 && d.readUInt16BE(12) === 0x8100) ip += 4;
  const v = d[ip]! >> 4;
  let tcp: number;
  let plen: number;
  if (v === 4) {
    if (d[ip + 9] !== 6) return false;
    tcp = ip + (d[ip]! & 15) * 4;
    plen = d.readUInt16BE(ip + 2) - (d[ip]! & 15) * 4;
  } else if (v === 6) {
    if (d[ip + 6] !== 6) return false;
    tcp = ip + 40;
    plen = d.readUInt16BE(ip + 4);
  } else return false;
  return tcp + 13 <= d.length && plen - (d[tcp + 12]! >> 4) * 4 > 0;
}

/** a labelled sample in classic pcap: its bytes and records */
interface Sample {
  l: Label;
  file: string;
  buf: Buffer;
  /** nanosecond timestamps */
  nsec: boolean;
  recs: [number, number][];
}

/** the labelled samples of `dir` that are classic pcap files (the others are re-encodings tested elsewhere) */
function classicSamples(dir: string, ls: Label[]): Sample[] {
  return ls.flatMap((l) => {
    const file = path.join(ROOT, dir, l.file);
    if (!file.endsWith('.pcap')) return [];
    const buf = fs.readFileSync(file);
    const magic = buf.readUInt32LE(0);
    if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) return [];
    return [{ l, file, buf, nsec: magic === 0xa1b23c4d, recs: pcapRecords(buf) }];
  });
}

/** the sample's records `recs` (or other bytes) as a capture of their own, analysed: the labelled server's entry */
async function judgeAs(tmp: string, name: string, s: Sample, parts: Uint8Array[]): Promise<ServerResult | undefined> {
  const out = path.join(tmp, name);
  fs.writeFileSync(out, Buffer.concat([s.buf.subarray(0, 24), ...parts]));
  const keys = `${s.file}.keys`;
  const a = await analyzeCapture(out, fs.existsSync(keys) ? { keylog: [keys] } : {});
  fs.rmSync(out);
  return a.servers.find((x) => x.address === s.l.server.address && x.port === s.l.server.port);
}

const said = (sv: ServerResult | undefined) => (sv ? `${sv.verdict}/${sv.reason}` : 'none');
const asLabelled = (sv: ServerResult | undefined, l: Label) => !!sv && sv.verdict === l.verdict && reasonMatches(sv.reason, l);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-loss-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));
const tmpDir = (tag: string) => fs.mkdtempSync(path.join(TMP, `${tag}-`));

/**
 * Left-out segments that carry what the verdict rests on: with them gone, another answer is the right one.
 * Keyed by capture and the 1-based frame number (of the whole capture) left out.
 */
const TELLING: Record<string, { verdict: string; reason?: string; why: string }> = {
  'a11-tls-version-mismatch.pcap#6': { verdict: 'inconclusive', reason: 'capture-incomplete', why: "the server's only answer, its alert protocol_version, is the segment left out: the client acknowledged 7 bytes nobody can read" },
  'a13-tls-to-plain-http-server.pcap#6': { verdict: 'inconclusive', reason: 'capture-incomplete', why: "the server's plain-HTTP answer (what shows it is not TLS) is the segment left out" },
  'a16-proxy-407.pcap#4': { verdict: 'none', why: 'the CONNECT request is the segment left out: nothing says the connection to port 3128 is a proxy leg, so the capture holds no traffic to the server' },
  'a16-proxy-407.pcap#6': { verdict: 'inconclusive', reason: 'capture-incomplete', why: "the proxy's 407 answer is the segment left out" },
  'a18-proxy-502-upstream-refused.pcap#4': { verdict: 'transport', reason: 'refused', why: 'the CONNECT request is the segment left out: the 502 is not read as the answer to a tunnel, and the proxy\'s own refused connection to the server is what is left' },
  'r14-proxy-tunnel-403.pcap#8': { verdict: 'none', why: 'the CONNECT request is the segment left out: nothing says the connection to port 3128 is a proxy leg' },
  'a18-proxy-502-upstream-refused.pcap#8': { verdict: 'inconclusive', reason: 'capture-incomplete', why: "the proxy's 502 answer is the segment left out" },
};

/**
 * Recordings of other clients and paths whose every left-out segment keeps the verdict: curl, Python, node and
 * Java, TLS 1.2 and 1.3, HTTP/2, -s 128, a lossy path, and PMTU black holes seen from either side (bytes the
 * network lost stay lost, bytes only the capture missed do not make a black hole). A close_notify the capture
 * missed before a FIN is no request (curl: r01, r52, r57); a server's alert it missed right after the client's
 * Finished is still that alert (r26); a Java request's body, a record as short as an alert, is still part of
 * the request when it is the one missed, because the server answers it (r77, r78). Through a proxy, a missed
 * 200 with TLS after it opened the tunnel, and a missed ClientHello inside it is no Finished (r14). A TLS 1.2 handshake cut by
 * the snaplen whose first request or answer was missed is still complete: the server's session ticket answers
 * the client's Finished, its ChangeCipherSpec and Finished behind it (r11, -s 96).
 */
const RECORDINGS = ['r01', 'r02', 'r11', 'r14', 'r21', 'r22', 'r25', 'r26', 'r52', 'r57', 'r65', 'r72', 'r77', 'r78', 'r83'];
/** the labelled recordings of test/recordings whose numbers (r01, ...) are given */
const allRecordings = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'recordings', 'labels.json'), 'utf8')).captures as Label[];
const recordingsNumbered = (ns: string[]) => allRecordings.filter((l) => ns.includes(l.file.split('-')[0]!));
/** one recording as a sample to rewrite */
const recordingSample = (n: string) => classicSamples(path.join('test', 'recordings'), recordingsNumbered([n]))[0]!;
const recordingLabels = recordingsNumbered(RECORDINGS);
/** the bytes of these records of a sample */
const bytesOf = (x: Sample, recs: [number, number][]) => recs.map(([a, e]) => x.buf.subarray(a, e));

describe('capture loss is not network loss', () => {
  const tmp = tmpDir('loss');
  for (const s of [...classicSamples('captures', labels), ...classicSamples(path.join('test', 'recordings'), recordingLabels)]) {
    const { l, buf, recs } = s;
    const link = buf.readUInt32LE(20);
    const data = recs.flatMap(([a, e], i) => (isTcpData(buf.subarray(a + 16, e), link) ? [i] : []));
    // (captures of refused or unanswered connections carry no data: nothing to leave out)
    if (data.length === 0) continue;
    it(`${l.file}: each of its ${data.length} data segments left out in turn`, async () => {
      const wrong: string[] = [];
      for (const i of data) {
        const sv = await judgeAs(tmp, `${l.file}-without-${i + 1}.pcap`, s, recs.filter((_, k) => k !== i).map(([a, b]) => buf.subarray(a, b)));
        const special = TELLING[`${l.file}#${i + 1}`];
        const ok = special ? said(sv) === (special.reason ? `${special.verdict}/${special.reason}` : special.verdict) : asLabelled(sv, l);
        if (!ok) wrong.push(`frame ${i + 1} left out: ${said(sv)}${special ? ` (expected ${special.verdict}/${special.reason}: ${special.why})` : ` (label ${l.verdict}/${l.subclass})`}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

class Collect implements StreamConsumer {
  readonly parts: { off: number; len: number; kind: GapKind | 'data'; frame: number }[] = [];
  data(bytes: Uint8Array, off: number, frame: number): void {
    this.parts.push({ off, len: bytes.length, kind: 'data', frame });
  }
  gap(len: number, off: number, kind: GapKind, frame: number): void {
    this.parts.push({ off, len, kind, frame });
  }
}

describe('StreamReassembler: holes the receiver acknowledged', () => {
  const bytes = (n: number) => new Uint8Array(n).fill(7);
  it('a hole the ACK covers is given up when the next segment comes, placed at the frame of that ACK', () => {
    const c = new Collect();
    const r = new StreamReassembler(c);
    r.segment(0, 100, bytes(100), 1, 0);
    // frame 2 (missed by the capture) held bytes 100..200; frame 3 is the receiver's ACK of 200
    r.ackTo(200, 3);
    r.segment(200, 50, bytes(50), 4, 0);
    expect(c.parts).toEqual([
      { off: 0, len: 100, kind: 'data', frame: 1 },
      { off: 100, len: 100, kind: 'loss', frame: 3 },
      { off: 200, len: 50, kind: 'data', frame: 4 },
    ]);
    expect(r.stats.lostBytes).toBe(100);
    expect(r.stats.outOfOrder).toBe(0);
  });
  it('a hole not acknowledged waits for its retransmission (real loss, or reordering)', () => {
    const c = new Collect();
    const r = new StreamReassembler(c);
    r.segment(0, 100, bytes(100), 1, 0);
    r.ackTo(100, 2);
    r.segment(200, 50, bytes(50), 3, 0);
    expect(c.parts.map((p) => p.kind)).toEqual(['data']);
    r.segment(100, 100, bytes(100), 4, 0);
    expect(c.parts.map((p) => [p.off, p.kind])).toEqual([
      [0, 'data'],
      [100, 'data'],
      [200, 'data'],
    ]);
    expect(r.stats.lostBytes).toBe(0);
  });
  it('an ACK that comes after held data gives up the hole before it and delivers what waited; the hole is placed before that data, which was sent after it', () => {
    const c = new Collect();
    const r = new StreamReassembler(c);
    r.segment(0, 100, bytes(100), 1, 0);
    r.segment(200, 50, bytes(50), 3, 0);
    r.segment(250, 50, bytes(50), 4, 0);
    r.ackTo(300, 5);
    // (at the ACK's frame 5 it would come after the request it belongs before: a TLS 1.3 client's Finished
    // missed in front of its request made the request look sent before the handshake was complete)
    expect(c.parts).toEqual([
      { off: 0, len: 100, kind: 'data', frame: 1 },
      { off: 100, len: 100, kind: 'loss', frame: 3 },
      { off: 200, len: 50, kind: 'data', frame: 3 },
      { off: 250, len: 50, kind: 'data', frame: 4 },
    ]);
  });
  it('acknowledged bytes with nothing captured after them are lost at the end', () => {
    const c = new Collect();
    const r = new StreamReassembler(c);
    r.segment(0, 100, bytes(100), 1, 0);
    r.ackTo(107, 2);
    r.flush(9);
    r.loseAckedTail(107, 9);
    expect(c.parts.at(-1)).toEqual({ off: 100, len: 7, kind: 'loss', frame: 2 });
    expect(r.next).toBe(107);
  });
});

/**
 * Two packets stamped out of order (an `-i any` capture merges its interfaces' packets by their own clocks;
 * captures of two hosts merged with mergecap carry two clocks): a SYN-ACK or RST/ACK before the SYN it
 * answers is one connection, not a mid-stream one and a new one. Every pair of neighbouring packets of
 * every sample less than 2 ms apart is swapped in turn (their stamps too, so the file stays in time order).
 */
/**
 * Recordings whose swapped pairs include data of one direction captured before the data it follows (the
 * request after its Finished: read where the hole in front of it is filled, as Wireshark reassembles it),
 * and of opposite directions (an answer before the request its ACK covers: the request was sent before)
 */
const SWAP_RECORDINGS = ['r01', 'r14', 'r22', 'r37', 'r76', 'r78', 'r83', 'r84'];

describe('packets stamped out of order', () => {
  const tmp = tmpDir('order');
  for (const s of [...classicSamples('captures', labels), ...classicSamples(path.join('test', 'recordings'), recordingsNumbered(SWAP_RECORDINGS))]) {
    const { l, buf, recs } = s;
    const stamp = ([a]: [number, number]) => buf.readUInt32LE(a) + buf.readUInt32LE(a + 4) / (s.nsec ? 1e9 : 1e6);
    const pairs = recs.flatMap((r, i) => (i + 1 < recs.length && stamp(recs[i + 1]!) - stamp(r) < 0.002 ? [i] : []));
    it(`${l.file}: each of its ${pairs.length} close pairs swapped in turn`, async () => {
      const wrong: string[] = [];
      for (const i of pairs) {
        const parts = recs.map(([a, e]) => Buffer.from(buf.subarray(a, e)));
        const [x, y] = [parts[i]!, parts[i + 1]!];
        const stampX = Buffer.from(x.subarray(0, 8));
        x.set(y.subarray(0, 8), 0);
        y.set(stampX, 0);
        parts[i] = y;
        parts[i + 1] = x;
        const sv = await judgeAs(tmp, `${l.file}-swap-${i + 1}.pcap`, s, parts);
        if (!asLabelled(sv, l)) wrong.push(`frames ${i + 1} and ${i + 2} swapped: ${said(sv)} (label ${l.verdict}/${l.subclass})`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

/**
 * A capture started late or stopped early (a half-written live file, tcpdump started after the sync began):
 * the verdict is the label's or inconclusive, never another layer's. Every sample cut at every packet.
 * Where the cut leaves a confident other answer, it is listed with why.
 */
const CUT_OTHERWISE: Record<string, string> = {
  'a18-proxy-502-upstream-refused.pcap from 2': "the CONNECT's SYN is cut off: the leg to the proxy is mid-stream on port 3128 and not read; what is left is the proxy's own connection to the server, refused (which is why the proxy answered 502)",
  'a18-proxy-502-upstream-refused.pcap from 3': 'as from 2',
  'a18-proxy-502-upstream-refused.pcap from 4': 'as from 2',
  'a18-proxy-502-upstream-refused.pcap from 5': 'as from 2',
  'a18-proxy-502-upstream-refused.pcap from 6': 'as from 2',
  'a21-routed-healthy-tls12-java.pcap up to 17': 'the capture stops right after the first answer on an open connection: one request, one short answer and nothing after it reads as a refused call',
};

describe('captures started late or stopped early', () => {
  const tmp = tmpDir('cut');
  for (const s of classicSamples('captures', labels)) {
    const { l, buf, recs } = s;
    it(`${l.file}: started at each of its ${recs.length} packets, and stopped at each`, async () => {
      const wrong: string[] = [];
      for (let k = 1; k < recs.length; k++) {
        for (const [cut, keep] of [
          [`from ${k + 1}`, recs.slice(k)],
          [`up to ${k}`, recs.slice(0, k)],
        ] as const) {
          const sv = await judgeAs(tmp, `${l.file}-${cut.replace(' ', '-')}.pcap`, s, keep.map(([a, e]) => buf.subarray(a, e)));
          const fine = !sv || sv.verdict === 'inconclusive' || asLabelled(sv, l);
          const listed = `${l.file} ${cut}` in CUT_OTHERWISE;
          if (fine === listed) wrong.push(`${cut}: ${said(sv)}${listed ? ` (listed as judged otherwise: ${CUT_OTHERWISE[`${l.file} ${cut}`]})` : ` (label ${l.verdict}/${l.subclass})`}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});

/**
 * A capture that starts inside the handshake (at the server's flight, at the client's ChangeCipherSpec) holds
 * its end: the client's Finished is no request, and the server's ticket flight no answer. Java retrying a
 * refused token call on one kept-alive TLS 1.3 connection (-s 128, the ServerHello cut), started at each of
 * those packets: the retries, not a Finished "request" of another size, decide.
 */
describe('captures started inside the handshake', () => {
  const tmp = tmpDir('hs');
  const s = recordingSample('r78');
  it.each([
    [8, "the server's flight (its ServerHello cut by the snaplen)"],
    [9, "the client's ACK of that flight"],
    [10, "the client's ChangeCipherSpec"],
  ])('from packet %i: %s', async (k) => {
    const sv = await judgeAs(tmp, `r78-from-${k}.pcap`, s, bytesOf(s, s.recs.slice(k - 1)));
    expect(said(sv), sv?.summary).toBe('application/auth-rejected');
    expect(sv!.summary).toMatch(/the same 381-byte request 3 times/);
  });
});

/**
 * A capture that starts while a sender repeats what it sent before the capture began: its base is the first
 * packet seen, and the repeats come from before it. They are retransmissions (a PMTU black hole seen late is
 * still one), not bytes 4 GB away that never came.
 */
describe('retransmissions of bytes sent before the capture began', () => {
  const tmp = tmpDir('before');
  const s = recordingSample('r65');
  const ssm = recordingSample('r25');
  it("r25 (the server's flight into a PMTU black hole, seen at the server) started at its third repeat: two more repeats and the client gives up, its FIN acknowledging none of it: stalled", async () => {
    const sv = await judgeAs(tmp, 'r25-from-11.pcap', ssm, bytesOf(ssm, ssm.recs.slice(10)));
    expect(said(sv), sv?.summary).toBe('transport/stalled');
  });
  it('r25 started at its fourth repeat: one repeat left, too few to call the path; never "untrusted-certificate", as the client never received the certificate it would refuse', async () => {
    const sv = await judgeAs(tmp, 'r25-from-12.pcap', ssm, bytesOf(ssm, ssm.recs.slice(11)));
    expect(said(sv)).not.toBe('tls/untrusted-certificate');
  });
  it('r65 (a client upload into a PMTU black hole) started at its first retransmission: stalled', async () => {
    const sv = await judgeAs(tmp, 'r65-from-13.pcap', s, bytesOf(s, s.recs.slice(12)));
    expect(said(sv), sv?.summary).toBe('transport/stalled');
    expect(sv!.summary).toMatch(/retransmitted 5 times without ever being acknowledged/);
  });
});

describe("a TLS 1.3 client's Finished the capture missed", () => {
  const tmp = tmpDir('fin');
  const s = recordingSample('r37');
  it('80 missed bytes of whole records are its ChangeCipherSpec and a Finished alone (no Certificate): the server\'s lone 19-byte record after the request is its close_notify, not a refusal (r37 without frame 12)', async () => {
    const sv = await judgeAs(tmp, 'r37-without-12.pcap', s, bytesOf(s, s.recs.filter((_, i) => i !== 11)));
    expect(said(sv), sv?.summary).toBe('transport/reset');
  });
});

/**
 * tcpdump text as input (src/input/tcpdump-text.ts): frames synthesized from `tcpdump -nn -vv` output must
 * decode like the capture tcpdump read, frame by frame (payload excepted), and give the same transport
 * verdicts. Fixtures: captures/*.pcap.tcpdump.txt, test/corpus/ref/*.tcpdump.txt (tcpdump 4.99.3), and the
 * printout of the Cisco article (test/fixtures/tcpdump-seed-*.txt, markdown and cut at 100 columns).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Decoder, looksLikeTcpdumpText, readCapture, readTcpdumpText, type CaptureSummary, type Packet } from '../src/index.js';
import { analyzeCapture } from '../src/diagnose/analyze.js';
import { ROOT, runCli } from './helpers/cli.js';
import { labels, reasonMatches } from './helpers/labels.js';

const CAPTURES = path.join(ROOT, 'captures');
const CORPUS = path.join(ROOT, 'test', 'corpus');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');

interface Rec {
  v: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  ttl: number;
  id: number;
  win: number;
  mss: number;
  wscale: number;
  cksum: number;
  cksumStatus: string;
  proto: number;
  icmp: string;
  quote: string;
  kind: string;
  cap: number;
  orig: number;
  time: number;
}

function rec(p: Packet): Rec {
  const q = p.quoted;
  return {
    v: p.ipVersion,
    src: p.src(),
    dst: p.dst(),
    sport: p.srcPort,
    dport: p.dstPort,
    flags: p.tcpFlags,
    seq: p.tcpSeq,
    ack: p.tcpAck,
    len: p.tcpLen,
    ttl: p.ipTtl,
    id: p.ipId,
    win: p.tcpWindow,
    mss: p.tcpMss,
    wscale: p.tcpWscale,
    cksum: p.tcpChecksum,
    cksumStatus: p.tcpChecksumStatus,
    proto: p.transport,
    icmp: `${p.icmpType}/${p.icmpCode}`,
    quote: q.present && q.ipVersion ? `${q.srcPort}>${q.dstPort} seq ${q.seq} flags ${q.tcpFlags}` : '',
    kind: p.frame.kind,
    cap: p.frame.capLen,
    orig: p.frame.origLen,
    time: p.frame.tsSec + p.frame.tsNsec / 1e9,
  };
}

async function collect(file: string): Promise<{ recs: Rec[]; s: CaptureSummary }> {
  const d = new Decoder();
  const recs: Rec[] = [];
  const s = await readCapture(file, (f) => {
    recs.push(rec(d.decode(f)));
  });
  return { recs, s };
}

const TCP_FIELDS = ['v', 'src', 'dst', 'sport', 'dport', 'flags', 'seq', 'ack', 'len', 'ttl', 'id', 'win', 'mss', 'wscale', 'proto', 'icmp'] as const;

/** field differences between the capture's frames and the text's, `frame field pcap text` */
function compare(a: Rec[], b: Rec[], fields: readonly (keyof Rec)[], opts: { quote: boolean; time?: boolean }): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    for (const k of fields) if (x[k] !== y[k]) out.push(`#${i + 1} ${k} ${x[k]} ${y[k]}`);
    // the checksum field is the one tcpdump printed; it prints none for segments the snaplen cut
    if (x.proto === 6 && x.cap >= x.orig && y.cksum !== 0 && x.cksum !== y.cksum && !(x.cksumStatus === 'good' && y.cksumStatus === 'good')) out.push(`#${i + 1} cksum ${x.cksum} ${y.cksum}`);
    if (opts.quote && x.quote !== y.quote) out.push(`#${i + 1} quote ${x.quote} ${y.quote}`);
    if (opts.time !== false && Math.abs((x.time % 86400) - (y.time % 86400)) > 1e-6) out.push(`#${i + 1} time ${x.time} ${y.time}`);
  }
  return out;
}

describe('captures/*.pcap.tcpdump.txt', () => {
  const texts = fs.readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap.tcpdump.txt'));
  it('are there', () => expect(texts.length).toBeGreaterThanOrEqual(20));
  for (const t of texts) {
    it(`${t}: frames decode like the capture's, frame by frame`, async () => {
      const pcap = await collect(path.join(CAPTURES, t.replace(/\.tcpdump\.txt$/, '')));
      const text = await collect(path.join(CAPTURES, t));
      expect(text.s.format).toBe('tcpdump-text');
      expect(text.s.error).toBeNull();
      expect(text.s.textLines!.unrecognizedCount).toBe(0);
      expect(text.recs.length).toBe(pcap.recs.length);
      // tcpdump -vv does not print the packet an ICMPv6 error quotes
      const quote = !/icmp6/.test(t);
      expect(compare(pcap.recs, text.recs, TCP_FIELDS, { quote })).toEqual([]);
      for (const r of text.recs) {
        // the IP total length is what was on the wire; only the headers are captured
        expect(r.orig).toBe(pcap.recs[text.recs.indexOf(r)]!.orig - 14);
        expect(r.cap).toBeLessThanOrEqual(r.orig);
      }
    });
  }

  /**
   * What the text cannot tell, because the bytes that decide are payload: the alert's description, the
   * CONNECT line naming the proxy's target.
   */
  const PAYLOAD_BOUND: Record<string, { verdict?: string; reason?: string; why: string }> = {
    'a11-tls-version-mismatch.pcap': { verdict: 'tls', reason: 'handshake-failure', why: "a 7-byte alert record: fatal, but its description (protocol_version) is payload" },
    'a16-proxy-407.pcap': { why: 'the CONNECT target and the 407 are payload: the leg is judged a refused CONNECT under the proxy, not under the target it does not name' },
  };
  it('every sample has its text', () => expect(labels.every((l) => fs.existsSync(path.join(CAPTURES, l.file + '.tcpdump.txt')))).toBe(true));
  for (const l of labels) {
    it(`${l.file}: the text's verdict is the label's (${l.verdict}/${l.subclass}) where the text allows`, async () => {
      const b = await analyzeCapture(path.join(CAPTURES, l.file + '.tcpdump.txt'));
      const s = b.servers.find((x) => x.address === l.server.address && x.port === l.server.port);
      const ex = PAYLOAD_BOUND[l.file];
      if (ex && !ex.verdict) return expect(s, ex.why).toBeUndefined();
      expect(s, b.servers.map((x) => `${x.address}:${x.port} ${x.reason}`).join(' ')).toBeDefined();
      expect(s!.verdict, s!.summary).toBe(ex?.verdict ?? l.verdict);
      if (ex) expect(s!.reason, ex.why).toBe(ex.reason);
      else expect(reasonMatches(s!.reason, l), `${s!.reason}: ${s!.summary}`).toBe(true);
    });
  }
});

describe('test/corpus/ref/*.tcpdump.txt', () => {
  const refs = fs.readdirSync(path.join(CORPUS, 'ref')).filter((f) => f.endsWith('.tcpdump.txt'));
  /** what tcpdump's text cannot give back: IP fragments (reassembled in the capture), IPv6 extension headers,
   *  IP options, a header length tcpdump only complains about, AccECN's AE bit (4.99.3 does not print it),
   *  an IP length of 0 (TSO), pcapng files with blocks tcpdump does not count */
  const NOT_COMPARED = new Set([
    'pp__frag_http_req.pcap',
    'zk__ipv4__fragmented-syn.pcap',
    'zk__ipv6-http-atomic-frag.pcap',
    'pp__ipv6_options.pcap',
    'pp__ipv4-options.pcap',
    'pp__tcp-malformed.pcap',
    'td__accecn_handshake.pcap',
    'td__ipv4_tcp_http_xml_tso.pcap',
  ]);
  it('are there', () => expect(refs.length).toBeGreaterThanOrEqual(50));
  it('every one is read without throwing; tcpdump output is read as tcpdump text', async () => {
    for (const r of refs) {
      const { s } = await collect(path.join(CORPUS, 'ref', r));
      const text = fs.readFileSync(path.join(CORPUS, 'ref', r), 'utf8');
      if (/^reading from file|^tcpdump: /m.test(text)) {
        expect(s.format, r).toBe('tcpdump-text');
        expect(s.readable, r).toBe(true);
      }
      if (s.textLines) expect(s.textLines.unrecognizedCount, `${r}: ${JSON.stringify(s.textLines.unrecognized)}`).toBe(0);
    }
  });
  it('TCP/IP frames match the capture decoded, frame by frame (addresses, ports, flags, seq, ack, lengths, options)', async () => {
    let compared = 0;
    for (const r of refs) {
      const capture = r.replace(/\.tcpdump\.txt$/, '');
      if (NOT_COMPARED.has(capture) || !fs.existsSync(path.join(CORPUS, capture))) continue;
      const pcap = await collect(path.join(CORPUS, capture));
      const text = await collect(path.join(CORPUS, 'ref', r));
      // tcpdump stops at what it cannot read (mixed link types); frames other than packets are not printed
      const packets = pcap.recs.filter((x) => x.kind === 'packet');
      if (text.recs.length === 0 || text.recs.length !== packets.length) continue;
      const tcp = packets.map((x, i) => [x, text.recs[i]!] as const).filter(([x]) => x.proto === 6 || x.proto === 17);
      const diffs = compare(
        tcp.map(([x]) => x),
        tcp.map(([, y]) => y),
        ['v', 'src', 'dst', 'sport', 'dport', 'flags', 'seq', 'ack', 'len', 'ttl', 'id', 'win', 'mss', 'wscale', 'proto'],
        // td__timestamp_invalid_nano holds nanosecond fields of a billion and more, which tcpdump prints as they are
        { quote: false, time: !capture.includes('invalid_nano') },
      );
      expect(diffs, capture).toEqual([]);
      compared += tcp.length;
    }
    expect(compared).toBeGreaterThan(900);
  });
});

describe('the printout of the Cisco article', () => {
  const seeds = ['tcpdump-seed-zh.md.txt', 'tcpdump-seed-pt.txt', 'tcpdump-seed-pt-cut100.txt'];
  for (const f of seeds) {
    it(`${f}: handshake, data lengths and checksums; prose counted, not fatal`, async () => {
      const { recs, s } = await collect(path.join(FIXTURES, f));
      expect(s.format).toBe('tcpdump-text');
      expect(s.error).toBeNull();
      expect(recs.length).toBe(10);
      expect(s.textLines!.unrecognizedCount).toBeGreaterThanOrEqual(1);
      expect(s.textLines!.unrecognized[0]!.line).toBe(1);
      const [syn, synAck, ack, req] = recs;
      expect([syn!.src, syn!.sport, syn!.dst, syn!.dport, syn!.flags]).toEqual(['192.168.10.1', 57886, '10.106.66.55', 8443, 0x02]);
      expect([synAck!.flags, synAck!.seq, synAck!.ttl]).toEqual([0x12, 2758352947, 44]);
      // the checksums tcpdump printed: `incorrect -> ...` keeps the field it saw
      expect(syn!.cksum).toBe(0xfadb);
      expect(ack!.cksum).toBe(0xfacf);
      // relative numbers turned absolute on the server's base; data lengths from the IP header
      expect([ack!.seq + 0, ack!.ack]).toEqual([synAck!.ack, 2758352948]);
      expect([req!.len, req!.seq, req!.orig, req!.cap]).toEqual([172, synAck!.ack, 212, 40]);
      expect(recs.map((r) => r.len)).toEqual([0, 0, 0, 172, 0, 1380, 214, 0, 0, 194]);
      expect(recs[6]!.seq).toBe(2758352948 + 1380);
      expect(recs[9]!.ack).toBe(2758352948 + 1594);
      if (f === 'tcpdump-seed-pt.txt') {
        expect([syn!.seq, syn!.mss, syn!.wscale, synAck!.ack, synAck!.mss]).toEqual([746386211, 1460, 7, 746386212, 1380]);
        expect([ack!.seq, ack!.win]).toEqual([746386212, 229]);
      }
      for (const r of recs) expect(r.time).toBeCloseTo(12 * 3600 + 15 * 60 + 6.5, -1);
    });
  }
  it('--date puts the times of day on that day', async () => {
    const d = new Decoder();
    const times: number[] = [];
    await readTcpdumpText(path.join(FIXTURES, 'tcpdump-seed-pt.txt'), (f) => times.push(d.decode(f).frame.tsSec), { date: '2023-01-13' });
    expect(times[0]).toBe(Date.UTC(2023, 0, 13, 12, 15, 6) / 1000);
  });
});

describe('the text forms tcpdump prints', () => {
  async function frames(text: string, opts = {}): Promise<{ recs: Rec[]; s: CaptureSummary }> {
    const d = new Decoder();
    const recs: Rec[] = [];
    const s = await readCapture(Readable.from([Buffer.from(text)]), (f) => recs.push(rec(d.decode(f))), opts);
    return { recs, s };
  }

  it('ARP requests and replies become Ethernet ARP frames with the addresses printed; neighbor solicitations carry their target', async () => {
    const text = [
      '03:03:06.706252 ARP, Ethernet (len 6), IPv4 (len 4), Request who-has 10.99.0.3 tell 10.99.0.1, length 28',
      '03:03:06.806252 ARP, Request who-has 10.99.0.2 tell 10.99.0.1, length 28',
      '03:03:06.906252 ARP, Ethernet (len 6), IPv4 (len 4), Reply 10.99.0.2 is-at c6:5a:ba:be:10:5a, length 28',
      '03:18:17.514310 IP6 (hlim 255, next-header ICMPv6 (58) payload length: 32) fd00:99::1 > ff02::1:ff00:3: [icmp6 sum ok] ICMP6, neighbor solicitation, length 32, who has fd00:99::3',
    ].join('\n');
    const raw: { linkType: number; bytes: Uint8Array }[] = [];
    const s = await readCapture(Readable.from([Buffer.from(text)]), (f) => raw.push({ linkType: f.linkType, bytes: f.bytes() }));
    expect(s.textLines!.unrecognizedCount).toBe(0);
    expect(s.linkTypes.map((l) => [l.linkType, l.frames]).sort((a, b) => a[0]! - b[0]!)).toEqual([[1, 3], [101, 1]]);
    const arp = raw.filter((r) => r.linkType === 1).map((r) => ({ type: (r.bytes[12]! << 8) | r.bytes[13]!, op: r.bytes[21], spa: r.bytes.subarray(28, 32).join('.'), tpa: r.bytes.subarray(38, 42).join('.') }));
    expect(arp).toEqual([
      { type: 0x0806, op: 1, spa: '10.99.0.1', tpa: '10.99.0.3' },
      { type: 0x0806, op: 1, spa: '10.99.0.1', tpa: '10.99.0.2' },
      { type: 0x0806, op: 2, spa: '10.99.0.2', tpa: '0.0.0.0' },
    ]);
    const ns = raw.find((r) => r.linkType === 101)!.bytes;
    // ICMPv6 header (8 bytes) after the 40-byte IPv6 header, then the 16-byte target
    expect(ns[40]).toBe(135);
    expect(Array.from(ns.subarray(48, 64))).toEqual([0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
  });

  it('without -v, -S absolute numbers, -tttt and epoch timestamps, -i any, -e, a hex dump', async () => {
    const text = [
      '2023-01-13 11:17:01.123456 eth0  Out IP 10.0.0.1.40000 > 10.0.0.2.8443: Flags [S], seq 3000000000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0',
      '2023-01-13 11:17:01.223456 eth0  In  IP 10.0.0.2.8443 > 10.0.0.1.40000: Flags [S.], seq 2000000000, ack 3000000001, win 65160, options [mss 1380], length 0',
      '1673608621.323456 00:11:22:33:44:55 > 66:77:88:99:aa:bb, ethertype IPv4 (0x0800), length 66: 10.0.0.1.40000 > 10.0.0.2.8443: Flags [.], ack 2000000001, win 502, length 0',
      '1673608621.423456 IP 10.0.0.1.40000 > 10.0.0.2.8443: Flags [P.], seq 3000000001:3000000005, ack 2000000001, win 502, length 4',
      '\t0x0000:  4500 002c 0001 4000 4006 0000 0a00 0001  E..,..@.@.......',
      '\t0x0010:  0a00 0002 9c40 20fb b2d0 5e01 7735 9401  .....@....^.w5..',
      '\t0x0020:  5018 01f6 0000 0000 4142 4344            P.......ABCD',
      '1673608621.523456 IP 10.0.0.2.8443 > 10.0.0.1.40000: Flags [.], seq 2000000001, ack 3000000005, win 510, length 0',
    ].join('\n');
    const { recs, s } = await frames(text);
    expect(s.textLines!.unrecognizedCount).toBe(0);
    expect(recs.map((r) => [r.flags, r.seq, r.ack, r.len])).toEqual([
      [0x02, 3000000000, 0, 0],
      [0x12, 2000000000, 3000000001, 0],
      [0x10, 3000000001, 2000000001, 0],
      [0x18, 3000000001, 2000000001, 4],
      [0x10, 2000000001, 3000000005, 0],
    ]);
    expect(recs[0]!.time).toBeCloseTo(Date.UTC(2023, 0, 13, 11, 17, 1) / 1000 + 0.123456, 5);
    expect([recs[0]!.mss, recs[0]!.wscale, recs[1]!.mss]).toEqual([1460, 7, 1380]);
    // the hex dump gives the payload
    expect([recs[3]!.cap, recs[3]!.orig]).toEqual([44, 44]);
  });

  it('relative numbers after the SYN-ACK, the midnight passing, RST, FIN, SACK, a cut option list', async () => {
    const text = [
      '23:59:59.900000 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)',
      '    10.0.0.1.40000 > 10.0.0.2.8443: Flags [S], cksum 0x1234 (incorrect -> 0x4321), seq 4294967000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0',
      '23:59:59.950000 IP (tos 0x0, ttl 50, id 0, offset 0, flags [DF], proto TCP (6), length 60)',
      '    10.0.0.2.8443 > 10.0.0.1.40000: Flags [S.], cksum 0x1111 (correct), seq 100, ack 4294967001, win 65160, options [mss 1380,sackOK,TS val 9 ecr 1,nop,wscale 7], length 0',
      '00:00:00.000001 IP (tos 0x0, ttl 64, id 2, offset 0, flags [DF], proto TCP (6), length 452)',
      '    10.0.0.1.40000 > 10.0.0.2.8443: Flags [P.], cksum 0x2222 (incorrect -> 0x3333), seq 1:401, ack 1, win 502, options [nop,nop,TS val 2 ecr 9], length 400',
      '00:00:00.100000 IP (tos 0x0, ttl 50, id 1, offset 0, flags [DF], proto TCP (6), length 52)',
      '    10.0.0.2.8443 > 10.0.0.1.40000: Flags [.], cksum 0x4444 (correct), seq 1, ack 1, win 509, options [nop,nop,sack 1 {201:401}], length 0',
      '00:00:00.200000 IP (tos 0x0, ttl 50, id 2, offset 0, flags [DF], proto TCP (6), length 40)',
      '    10.0.0.2.8443 > 10.0.0.1.40000: Flags [R.], cksum 0x5555 (correct), seq 1, ack 401, win 0, length 0',
      '00:00:00.300000 IP (tos 0x0, ttl 64, id 3, offset 0, flags [DF], proto TCP (6), length 52)',
      '    10.0.0.1.40000 > 10.0.0.2.8443: Flags [F.], cksum 0x6666 (incorrect -> 0x7777), seq 401, ack 1, win 502, options [nop,nop,TS val 3 ecr 9], le',
    ].join('\n');
    const { recs } = await frames(text, { date: '2023-01-13' });
    const isn = 4294967000;
    expect(recs.map((r) => [r.flags, r.seq, r.ack, r.len])).toEqual([
      [0x02, isn, 0, 0],
      [0x12, 100, (isn + 1) % 2 ** 32, 0],
      [0x18, isn + 1, 101, 400],
      [0x10, 101, isn + 1, 0],
      [0x14, 101, (isn + 401) % 2 ** 32, 0],
      [0x11, (isn + 401) % 2 ** 32, 101, 0],
    ]);
    expect(recs[2]!.time - recs[1]!.time).toBeCloseTo(0.050001, 6);
    expect(recs[0]!.cksum).toBe(0x1234);
    expect(recs[1]!.cksumStatus).toBe('good');
  });

  it('ICMP errors with the quoted packet, ICMPv6 without it, UDP, ARP', async () => {
    const text = [
      'tcpdump: verbose output suppressed, use -v[v]... for full protocol decode',
      'listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes',
      '12:00:00.000000 IP (tos 0xc0, ttl 255, id 5, offset 0, flags [none], proto ICMP (1), length 56)',
      '    10.0.0.254 > 10.0.0.1: ICMP host 10.0.0.2 unreachable - admin prohibited filter, length 36',
      '\tIP (tos 0x0, ttl 63, id 1, offset 0, flags [DF], proto TCP (6), length 60)',
      '    10.0.0.1.40000 > 10.0.0.2.8443: [|tcp]',
      '12:00:00.100000 IP 10.0.0.254 > 10.0.0.1: ICMP 10.0.0.2 tcp port 8443 unreachable, length 36',
      '12:00:00.200000 IP6 (hlim 64, next-header ICMPv6 (58) payload length: 88) fe80::1 > 2001:db8::1: [icmp6 sum ok] ICMP6, destination unreachable, unreachable route 2001:db8::2',
      '12:00:00.300000 IP (tos 0x0, ttl 64, id 7, offset 0, flags [DF], proto UDP (17), length 57)',
      '    10.0.0.1.5353 > 10.0.0.2.53: [udp sum ok] 4660+ A? example.com. (29)',
      '12:00:00.400000 ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28',
      '5 packets captured',
    ].join('\n');
    const { recs, s } = await frames(text);
    expect(s.textLines!.unrecognizedCount).toBe(0);
    expect(recs.map((r) => [r.proto, r.icmp])).toEqual([
      [1, '3/13'],
      [1, '3/3'],
      [58, '1/0'],
      [17, '-1/-1'],
      [-1, '-1/-1'],
    ]);
    expect(recs[0]!.quote).toBe('40000>8443 seq -1 flags -1');
    expect([recs[3]!.sport, recs[3]!.dport, recs[3]!.orig]).toEqual([5353, 53, 57]);
    expect(s.interfaces[0]!.snaplen).toBe(262144);
  });

  it('a line not understood is counted with its number, never fatal', async () => {
    const { recs, s } = await frames('12:00:00.000000 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0\nsomething else entirely\n');
    expect(recs.length).toBe(1);
    expect(s.textLines!.unrecognized).toEqual([{ line: 2, text: 'something else entirely' }]);
  });

  it('detection is by content', () => {
    expect(looksLikeTcpdumpText(Buffer.from('reading from file x.pcap, link-type EN10MB (Ethernet), snapshot length 262144\n'))).toBe(true);
    expect(looksLikeTcpdumpText(Buffer.from('12:15:06.407513 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 52)\n'))).toBe(true);
    expect(looksLikeTcpdumpText(Buffer.from('# a README\n\nsome text 12:15:06 here\n'))).toBe(false);
    expect(looksLikeTcpdumpText(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 0, 0, 0, 0]))).toBe(false);
  });
});

describe('the CLI', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-text-'));
  const a05 = path.join(CAPTURES, 'a05-port-closed-rst.pcap.tcpdump.txt');

  it('analyze: a .txt, a file without extension, and stdin', async () => {
    const noext = path.join(tmp, 'capture');
    fs.copyFileSync(a05, noext);
    // the five processes at once
    const [txt, bare, r, info, pk] = await Promise.all([
      runCli(['analyze', a05]),
      runCli(['analyze', noext]),
      runCli(['analyze', '-'], { stdin: fs.readFileSync(a05) }),
      runCli(['info', noext, '--date', '2023-01-13']),
      runCli(['packets', '-', '-e', 'frame.number', '-e', 'tcp.flags', '--format', 'tsv'], { stdin: fs.readFileSync(a05) }),
    ]);
    for (const x of [txt, bare]) {
      expect(x.stderr).toBe('');
      expect(x.stdout).toMatch(/TRANSPORT \(refused\)/);
    }
    expect(r.stdout).toMatch(/TRANSPORT \(refused\)/);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/tcpdump-text/);
    expect(pk.stdout.split('\n').slice(0, 3)).toEqual(['frame.number\ttcp.flags', '1\t0x0002', '2\t0x0014']);
  });

  it('a text file that is not tcpdump output: not a capture, exit 65, one line naming the file', async () => {
    const f = path.join(tmp, 'notes.txt');
    fs.writeFileSync(f, 'Meeting notes\n\n12:15 call the SSM team\nnothing else\n');
    const r = await runCli(['analyze', f]);
    expect(r.code).toBe(65);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(f);
  });
});

describe('proxy legs without their text (tcpdump text holds no payload)', () => {
  it('a CONNECT the proxy could not carry out: its own connection to the port fails between the request and the answer', async () => {
    const a = await analyzeCapture(path.join(CAPTURES, 'a18-proxy-502-upstream-refused.pcap.tcpdump.txt'));
    expect(a.servers).toHaveLength(1);
    const s = a.servers[0]!;
    expect(s).toMatchObject({ address: '127.0.0.55', port: 8443, verdict: 'transport', reason: 'proxy-upstream-failed' });
    expect(s.summary).toMatch(/inferred/);
    // the request to the proxy, the proxy's own SYN and its RST, the proxy's answer
    expect(s.evidence.map((e) => e.frame)).toEqual([4, 6, 7, 8]);
    // the proxy's own connection is evidence for the tunnel, not a connection of vManage's
    expect(a.connections.map((c) => c.role)).toEqual(['proxy-upstream']);
  });

  it('no connection to the port at all: a request the proxy answered and closed without connecting anywhere is a refused CONNECT', async () => {
    const a = await analyzeCapture(path.join(CAPTURES, 'a16-proxy-407.pcap.tcpdump.txt'));
    expect(a.servers).toHaveLength(1);
    expect(a.servers[0]).toMatchObject({ address: '127.0.0.1', port: 3128, verdict: 'transport', reason: 'proxy-refused' });
    expect(a.servers[0]!.summary).toMatch(/no connection to port 8443.*inferred: most often 407/);
  });

  it('with the payload captured the CONNECT and the status line are read, nothing is inferred', async () => {
    const a16 = await analyzeCapture(path.join(CAPTURES, 'a16-proxy-407.pcap'));
    expect(a16.servers[0]).toMatchObject({ address: '127.0.0.55', port: 8443, reason: 'proxy-auth-required' });
    const a18 = await analyzeCapture(path.join(CAPTURES, 'a18-proxy-502-upstream-refused.pcap'));
    expect(a18.servers[0]).toMatchObject({ address: '127.0.0.55', port: 8443, reason: 'proxy-upstream-failed' });
    expect(a18.servers[0]!.summary).not.toMatch(/inferred/);
  });

  it('a connection to a port that is no usual proxy port is not taken for a proxy leg', async () => {
    const text = fs.readFileSync(path.join(CAPTURES, 'a16-proxy-407.pcap.tcpdump.txt'), 'utf8').replaceAll('127.0.0.1.3128', '127.0.0.1.5432');
    const a = await analyzeCapture(Readable.from([Buffer.from(text)]), { name: 'pg.txt' });
    expect(a.servers).toHaveLength(0);
  });
});

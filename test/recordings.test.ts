/**
 * Scenarios recorded here, differently from the sample captures (test/recordings/tools/record-all.sh):
 * two network namespaces over a veth pair, other clients (curl, Python's urllib), IPv6, pcapng from
 * dumpcap, `-i any`, a routing namespace that drops or answers ICMP, a real CONNECT proxy. Each capture
 * and the text tcpdump printed from it must get its labelled verdict and reason; where the text cannot tell
 * (no payload), the label says what it gets and why.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../src/index.js';
import { writePcap, type PcapRecord } from './helpers/capture-writer.js';
import { analyzeCapture } from '../src/diagnose/analyze.js';
import { overallVerdict } from '../src/diagnose/servers.js';
import { ROOT } from './helpers/cli.js';

const DIR = path.join(ROOT, 'test', 'recordings');
interface RecLabel {
  file: string;
  verdict: string;
  subclass: string;
  server: { address: string; port: number };
  tcpdump_text?: { verdict: string; subclass: string; why: string };
}
const labels = JSON.parse(fs.readFileSync(path.join(DIR, 'labels.json'), 'utf8')) as { captures: RecLabel[]; gaps?: GapLabel[] };
const recs = labels.captures;
/** a recording whose true label the capture cannot show: `gets` is what it gets, and why */
interface GapLabel extends RecLabel {
  gets: { verdict: string; subclass: string; server: { address: string; port: number }; why: string };
}
const gaps = labels.gaps ?? [];

/** auth-rejected stands for invalid-client / invalid-grant when the answer is encrypted */
function reasonOk(reason: string, want: string): boolean {
  return reason === want || (reason === 'auth-rejected' && (want === 'invalid-client' || want === 'invalid-grant'));
}

async function verdictOf(file: string): Promise<{ verdict: string; reason: string; servers: string[] }> {
  const a = await analyzeCapture(file);
  const o = overallVerdict(a.servers);
  return { ...o, servers: a.servers.map((s) => s.address) };
}

describe('recorded scenarios: the capture', () => {
  it.each(recs.map((r) => [r.file, r] as const))('%s', async (_f, r) => {
    const got = await verdictOf(path.join(DIR, r.file));
    expect(got.verdict).toBe(r.verdict);
    expect(reasonOk(got.reason, r.subclass), `${got.reason} for ${r.subclass}`).toBe(true);
    if (r.verdict !== 'inconclusive') expect(got.servers).toContain(r.server.address);
  });
});

describe('recorded scenarios: the text tcpdump -nn -vv printed from it (no payload)', () => {
  it.each(recs.map((r) => [r.file, r] as const))('%s', async (_f, r) => {
    const want = r.tcpdump_text ?? { verdict: r.verdict, subclass: r.subclass };
    const got = await verdictOf(path.join(DIR, `${r.file}.tcpdump.txt`));
    expect(got.verdict).toBe(want.verdict);
    expect(reasonOk(got.reason, want.subclass), `${got.reason} for ${want.subclass}`).toBe(true);
  });
});

describe('recorded scenarios whose true label the capture cannot show (labels.json gaps): what they get', () => {
  it.each(gaps.map((r) => [r.file, r] as const))('%s', async (_f, r) => {
    const a = await analyzeCapture(path.join(DIR, r.file));
    if (r.gets.subclass === 'no-server-traffic') expect(a.servers).toEqual([]);
    else expect(a.servers.map((s) => [s.address, s.port, s.verdict, s.reason])).toContainEqual([r.gets.server.address, r.gets.server.port, r.gets.verdict, r.gets.subclass]);
    const want = r.tcpdump_text ?? r.gets;
    const text = await verdictOf(path.join(DIR, `${r.file}.tcpdump.txt`));
    expect([text.verdict, text.reason]).toEqual([want.verdict, want.subclass]);
  });
});

describe('a server on the client subnet that never answers address resolution', () => {
  it.each([
    ['r08-no-host-no-response.pcap', '10.99.0.3', 'arp'],
    ['r23-v6-no-neighbor.pcap', 'fd00:99::3', 'ndp'],
  ])('%s: the unanswered requests are listed and are the transport finding (inferred without --server)', async (f, addr, protocol) => {
    const plain = await analyzeCapture(path.join(DIR, f));
    expect(plain.input.unanswered_neighbors).toEqual([expect.objectContaining({ address: addr, protocol, requests: 3 })]);
    expect(plain.servers).toEqual([expect.objectContaining({ address: addr, port: 8443, verdict: 'transport', reason: 'no-response', connection_count: 0 })]);
    expect(plain.servers[0]!.summary).toMatch(/inferred: nothing in the capture went to port 8443/);
    const named = await analyzeCapture(path.join(DIR, f), { server: { addr } });
    expect(named.servers[0]).toMatchObject({ address: addr, port: 8443, verdict: 'transport', reason: 'no-response', connection_count: 0 });
    expect(named.servers[0]!.summary).not.toMatch(/inferred/);
    expect(named.servers[0]!.evidence[0]!.frame).toBe(plain.input.unanswered_neighbors[0]!.first_frame);
    // another server named: these requests are not about it
    const other = await analyzeCapture(path.join(DIR, f), { server: { addr: '192.0.2.1' } });
    expect(other.servers).toHaveLength(0);
  });

  it('does not list addresses that were answered', async () => {
    for (const f of ['r02-v4-curl-403-retries-s128.pcap', 'r01-v6-curl-keepalive-healthy.pcap']) {
      const a = await analyzeCapture(path.join(DIR, f));
      expect(a.input.unanswered_neighbors).toEqual([]);
    }
  });
});

/**
 * Every recording cut as `tcpdump -s N` cuts it, at the snaplens users take (-s 96 and -s 128, the size in
 * the Cisco article, and -s 200): the record headers still give the record boundaries and the sizes, and the
 * verdict stays. With IPv6 and TCP timestamps, -s 96 keeps 10 bytes of each payload: a TLS 1.3 client's
 * Finished and first request in one segment, behind a ChangeCipherSpec, cannot be told from TLS 1.2 then.
 */
const CUT_EXCEPT: Record<string, string> = {
  's96 r60-node-per-call-healthy-v6-keys.pcap': "10 bytes of each payload: the resumed connections' Finished and request sit unseen behind the client's ChangeCipherSpec, so they read as TLS 1.2 connections the server resets after the handshake",
};

describe('recorded scenarios cut by a snaplen', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-rec-cut-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const snap of [96, 128, 200]) {
    it(`-s ${snap}: every recording keeps its verdict`, async () => {
      const wrong: string[] = [];
      for (const r of recs) {
        const frames: PcapRecord[] = [];
        let linkType = 1;
        await readCapture(path.join(DIR, r.file), (f) => {
          linkType = f.linkType;
          const data = f.bytes();
          frames.push({ sec: f.tsSec, frac: Math.floor(f.tsNsec / 1000), data: data.subarray(0, snap), origLen: f.origLen });
        });
        const file = path.join(dir, `s${snap}-${r.file}.pcap`);
        fs.writeFileSync(file, writePcap({ snaplen: snap, linkType }, frames).bytes);
        const got = await verdictOf(file);
        const known = CUT_EXCEPT[`s${snap} ${r.file}`];
        const ok = got.verdict === r.verdict && reasonOk(got.reason, r.subclass);
        if (ok === !!known) wrong.push(`${r.file}: ${got.verdict}/${got.reason}${known ? ` (listed as misjudged: ${known})` : ` (label ${r.verdict}/${r.subclass})`}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

describe('a snaplen so small that IPv6 TCP headers are cut (-s 64: 14 + 40 + 10 bytes)', () => {
  it('says the headers were cut, with the server and a count, instead of "no traffic to the port"', async () => {
    const recs: PcapRecord[] = [];
    await readCapture(path.join(DIR, 'r01-v6-curl-keepalive-healthy.pcap'), (f) => {
      const data = f.bytes();
      recs.push({ sec: f.tsSec, frac: Math.floor(f.tsNsec / 1000), data: data.subarray(0, 64), origLen: f.origLen });
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-rec-')), 's64.pcap');
    fs.writeFileSync(file, writePcap({ snaplen: 64 }, recs).bytes);
    const a = await analyzeCapture(file);
    expect(a.servers).toHaveLength(1);
    expect(a.servers[0]).toMatchObject({ address: 'fd00:99::2', port: 8443, verdict: 'inconclusive', reason: 'capture-incomplete' });
    expect(a.servers[0]!.summary).toMatch(/^\d+ packets to or from \[fd00:99::2\]:8443 whose TCP headers the snaplen cut \(64 bytes/);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});

/**
 * `ssmcap analyze` on the bundled SSM sample captures: every capture's server gets the labelled verdict
 * and reason (auth-rejected stands for invalid-client/invalid-grant: without a key log the token
 * answer is encrypted, or the snaplen cut it). Then the parsers' cases from the corpus TLS captures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture, overallVerdict } from '../src/diagnose/analyze.js';
import { ROOT, runCli } from './helpers/cli.js';
import { labels, reasonMatches } from './helpers/labels.js';

const EXIT: Record<string, number> = { healthy: 0, transport: 10, tls: 11, application: 12, inconclusive: 13 };

describe('verdicts on the labelled SSM captures', () => {
  for (const l of labels) {
    it(`${l.file}: ${l.verdict}/${l.subclass}`, async () => {
      const a = await analyzeCapture(path.join(ROOT, 'captures', l.file));
      const s = a.servers.find((x) => x.address === l.server.address && x.port === l.server.port);
      expect(s, `servers: ${a.servers.map((x) => `${x.address}:${x.port}`).join(' ')}`).toBeDefined();
      expect(s!.verdict).toBe(l.verdict);
      const reasonOk = reasonMatches(s!.reason, l);
      expect(reasonOk, `reason ${s!.reason}, label ${l.subclass}`).toBe(true);
      // every finding proves itself with frames that exist in the capture
      expect(s!.evidence.length).toBeGreaterThan(0);
      for (const e of s!.evidence) expect(e.frame).toBeGreaterThanOrEqual(1);
      for (const e of s!.evidence) expect(e.frame).toBeLessThanOrEqual(a.input.packets);
      expect(s!.hint.length).toBeGreaterThan(20);
    });
  }

  it('the proxy leg belongs to the CONNECT target, and the proxy gets no server entry of its own', async () => {
    const a = await analyzeCapture(path.join(ROOT, 'captures', 'a17-proxy-tunnel-auth-403.pcap'));
    expect(a.servers.map((s) => `${s.address}:${s.port}`)).toEqual(['127.0.0.55:8443']);
    const roles = a.connections.map((c) => c.role).sort();
    expect(roles).toEqual(['proxy-tunnel', 'proxy-upstream']);
    expect(a.servers[0]!.evidence.some((e) => /proxy's own connection/.test(e.text))).toBe(true);
  });

  it('three retries of the same refused call are one finding with the count, background traffic ignored', async () => {
    const a = await analyzeCapture(path.join(ROOT, 'captures', 'a20-retries-403-with-background.pcap'));
    expect(a.servers).toHaveLength(1);
    expect(a.servers[0]!.summary).toMatch(/^3 connections/);
    expect(a.connections.every((c) => c.server === '127.0.0.55:8443')).toBe(true);
  });

  it('names the ICMP sender and code', async () => {
    const a = await analyzeCapture(path.join(ROOT, 'captures', 'a23-routed-icmp-host-unreachable.pcap'));
    expect(a.servers[0]!.summary).toMatch(/host-unreachable from 127\.10\.1\.1 \(a device on the path, not the server\)/);
  });

  it('uses Zeek conn_state and history', async () => {
    const refused = await analyzeCapture(path.join(ROOT, 'captures', 'a05-port-closed-rst.pcap'));
    expect(refused.connections[0]).toMatchObject({ conn_state: 'REJ', history: 'Sr' });
    const s0 = await analyzeCapture(path.join(ROOT, 'captures', 'a06-syn-dropped-filtered.pcap'));
    expect(s0.connections[0]).toMatchObject({ conn_state: 'S0', history: 'S' });
    const healthy = await analyzeCapture(path.join(ROOT, 'captures', 'a01-healthy-tls12.pcap'));
    expect(healthy.connections[0]!.conn_state).toMatch(/^(SF|RSTO|RSTR)$/);
    expect(healthy.connections[0]!.history).toMatch(/^ShAD/);
  });
});

describe('analyze CLI: JSON document and exit codes', () => {
  it('exit code follows the overall verdict; JSON has inputs, servers, connections', async () => {
    const cases = [
      ['a01-healthy-tls12.pcap', 'healthy'],
      ['a05-port-closed-rst.pcap', 'transport'],
      ['a10-tls-untrusted-ca-tls12.pcap', 'tls'],
      ['a03-auth-403-invalid-client-tls12.pcap', 'application'],
    ] as const;
    // the four processes at once
    const runs = await Promise.all(cases.map(([file]) => runCli(['analyze', path.join(ROOT, 'captures', file), '--format', 'json'])));
    for (const [i, [file, verdict]] of cases.entries()) {
      const r = runs[i]!;
      expect(r.code, file).toBe(EXIT[verdict]);
      const doc = JSON.parse(r.stdout);
      expect(doc.verdict).toBe(verdict);
      expect(doc.inputs[0].packets).toBeGreaterThan(0);
      expect(doc.servers[0].hint).toBeTruthy();
      expect(doc.connections[0].conn_state).toBeTruthy();
    }
  });

  it('a directory: the lowest failing layer wins; no traffic to the port is inconclusive (13)', async () => {
    const [r, none] = await Promise.all([runCli(['analyze', path.join(ROOT, 'captures'), '--format', 'json']), runCli(['analyze', path.join(ROOT, 'captures', 'a01-healthy-tls12.pcap'), '--port', '9999'])]);
    expect(r.code).toBe(10);
    const doc = JSON.parse(r.stdout);
    expect(doc.inputs.length).toBe(labels.length);
    expect(doc.verdict).toBe('transport');
    expect(none.code).toBe(13);
    expect(none.stdout).toMatch(/no-server-traffic/);
  });

  it('secrets in a plain-HTTP token URL never reach the output', async () => {
    const file = path.join(ROOT, 'captures', 'a12-plain-http-to-tls-port.pcap');
    const raw = fs.readFileSync(file).toString('latin1');
    const secret = /client_secret=([^&\s]+)/.exec(raw)?.[1];
    expect(secret, 'the capture carries a client_secret in clear').toBeTruthy();
    const runs = await Promise.all(['text', 'json'].map((fmt) => runCli(['analyze', file, '--format', fmt])));
    for (const r of runs) expect(r.stdout).not.toContain(secret!);
  });

  it('overall verdict order: transport before tls before application before inconclusive', () => {
    const mk = (verdict: 'tls' | 'transport' | 'application' | 'healthy', reason: 'not-tls' | 'refused' | 'auth-rejected' | 'ok') => ({ input: 'x', address: '10.0.0.1', port: 8443, verdict, reason, summary: reason, hint: '', connections: [], connection_count: 0, evidence: [] });
    expect(overallVerdict([mk('application', 'auth-rejected'), mk('tls', 'not-tls'), mk('transport', 'refused')]).reason).toBe('refused');
    expect(overallVerdict([mk('healthy', 'ok')]).verdict).toBe('healthy');
    expect(overallVerdict([]).reason).toBe('no-server-traffic');
  });
});

describe('TLS parser cases from the corpus', () => {
  const corpus = (n: string) => path.join(ROOT, 'test', 'corpus', n);
  it('fatal handshake_failure from the server', async () => {
    const a = await analyzeCapture(corpus('zk__tls__tls-1.2-handshake-failure.pcap'), { port: 443 });
    expect(a.servers[0]).toMatchObject({ verdict: 'tls', reason: 'handshake-failure' });
  });
  it('an early alert (unrecognized_name) names the alert', async () => {
    const a = await analyzeCapture(corpus('zk__tls__tls-early-alert.pcap'), { port: 64132 });
    expect(a.servers[0]!.summary).toMatch(/unrecognized_name/);
  });
  it('HelloRetryRequest then a TLS 1.3 handshake: the second ServerHello after the compatibility CCS is read', async () => {
    const a = await analyzeCapture(corpus('zk__tls__hrr.pcap'), { port: 443 });
    expect(a.connections[0]!.tls?.version).toBe('TLS 1.3');
    expect(a.connections[0]!.tls?.handshake_complete).toBe(true);
  });
  it('SSLv2 hellos are recognised, not taken for garbage', async () => {
    const a = await analyzeCapture(corpus('zk__tls__ssl-v2.pcap'), { port: 443 });
    expect(a.servers[0]!.reason).toBe('protocol-version');
    expect(a.servers[0]!.evidence.some((e) => /SSLv2-format/.test(e.text))).toBe(true);
  });
  it('HTTP to an SSH server is not TLS', async () => {
    const a = await analyzeCapture(corpus('zk__http__get-to-ssh-server.pcap'), { port: 22 });
    expect(a.servers[0]).toMatchObject({ verdict: 'tls', reason: 'not-tls' });
  });
  it('TLS 1.3 exchanges with tiny records: requests are counted, not mistaken for alerts', async () => {
    const a = await analyzeCapture(corpus('it13__capture.pcap'), { port: 8400 });
    expect(a.connections[0]!.tls?.handshake_complete).toBe(true);
    expect(a.connections[0]!.exchanges.length).toBeGreaterThanOrEqual(1);
  });
  it('the server certificate of a TLS 1.2 handshake is read with node:crypto', async () => {
    const a = await analyzeCapture(corpus('it12__capture.pcap'), { port: 8443 });
    expect(a.connections[0]!.tls?.certificate?.subject).toMatch(/example\.ulfheim\.net/);
  });
});

describe('connections seen mid-stream and server selection', () => {
  it('a capture that starts inside the TLS session is still judged from its exchanges, and marked', async () => {
    const { readCapture } = await import('../src/index.js');
    const { writePcap } = await import('./helpers/capture-writer.js');
    const os = await import('node:os');
    // (one request and its short answer, then a close, seen from the middle, is the refused token call of a03
    // or the last call of a01's healthy keep-alive connection alike: what came before is not in the capture)
    for (const [file, from, verdict] of [
      ['a01-healthy-tls12.pcap', 7, 'healthy'],
      ['a01-healthy-tls12.pcap', 15, 'inconclusive'],
      ['a03-auth-403-invalid-client-tls12.pcap', 10, 'inconclusive'],
    ] as const) {
      const recs: { sec: number; frac: number; data: Uint8Array }[] = [];
      await readCapture(path.join(ROOT, 'captures', file), (f) => {
        if (f.number >= from) recs.push({ sec: f.tsSec, frac: Math.floor(f.tsNsec / 1000), data: f.bytes() });
      });
      const out = path.join(os.tmpdir(), `ssmcap-mid-${process.pid}-${file}`);
      fs.writeFileSync(out, writePcap({}, recs).bytes);
      const a = await analyzeCapture(out);
      fs.rmSync(out);
      expect(a.connections[0]!.midstream).toBe(true);
      expect(a.connections[0]!.conn_state).toBe('OTH');
      expect(a.servers[0]!.verdict, a.servers[0]!.summary).toBe(verdict);
      expect(a.connections[0]!.evidence.some((e) => /starts inside this connection/.test(e.text))).toBe(true);
    }
  });

  it('--server keeps only that server', async () => {
    const file = path.join(ROOT, 'captures', 'a20-retries-403-with-background.pcap');
    const [other, none] = await Promise.all([runCli(['analyze', file, '--format', 'json', '--port', '443', '--server', '127.0.0.9']), runCli(['analyze', file, '--format', 'json', '--server', '10.9.9.9:8443'])]);
    const doc = JSON.parse(other.stdout);
    expect(doc.servers.map((s: { address: string; port: number }) => `${s.address}:${s.port}`)).toEqual(['127.0.0.9:443']);
    expect(none.code).toBe(13);
  });

  it('reports per-direction TCP facts: retransmissions, SACK, MSS, super-segments, checksum offload', async () => {
    const a = await analyzeCapture(path.join(ROOT, 'captures', 'a15-pmtu-blackhole.pcap'));
    const t = a.connections[0]!.tcp!;
    expect(t.resp.retransmissions).toBeGreaterThanOrEqual(3);
    expect(t.orig.sack_blocks).toBeGreaterThan(0);
    expect(t.orig.mss).toBe(1460);
    expect(t.resp.checksum_offload).toBe(t.resp.packets);
    const routed = await analyzeCapture(path.join(ROOT, 'captures', 'a21-routed-healthy-tls12-java.pcap'));
    // the router clamps the MSS the server announces; the server's TTL shows the hops
    expect(routed.connections[0]!.tcp!.resp.mss).toBe(1380);
    expect(routed.connections[0]!.tcp!.resp.ttl).toBe(44);
    expect(routed.connections[0]!.syn_ack_rtt).toBeGreaterThan(0);
  });
});

describe('connections are judged as they end, not all at the end', () => {
  it('a connection closed long enough ago is summarised while the capture is still being read', async () => {
    const { readCapture } = await import('../src/index.js');
    const { writePcap } = await import('./helpers/capture-writer.js');
    // a03 three times, 20 s apart, each from another client port
    const base: { sec: number; frac: number; data: Uint8Array }[] = [];
    await readCapture(path.join(ROOT, 'captures', 'a03-auth-403-invalid-client-tls12.pcap'), (f) => base.push({ sec: f.tsSec, frac: Math.floor(f.tsNsec / 1000), data: f.bytes() }));
    const recs = [0, 1, 2].flatMap((k) =>
      base.map((r) => {
        const d = r.data.slice();
        // client port is the source port of client packets (34-35) or the destination port of server packets (36-37)
        const fromClient = d[36] === 0x20 && d[37] === 0xfb;
        const at = fromClient ? 34 : 36;
        const port = ((d[at]! << 8) | d[at + 1]!) + k;
        d[at] = port >> 8;
        d[at + 1] = port & 0xff;
        return { sec: r.sec + 20 * k, frac: r.frac, data: d };
      }),
    );
    const w = writePcap({}, recs);
    let pulled = 0;
    async function* chunks() {
      yield w.bytes.subarray(0, w.offsets[0]!);
      for (let i = 0; i < w.offsets.length; i++) {
        pulled = i + 1;
        yield w.bytes.subarray(w.offsets[i]!, w.offsets[i + 1] ?? w.bytes.length);
      }
    }
    const seenAt: number[] = [];
    const a = await analyzeCapture(chunks(), { name: 'three.pcap', onConnection: () => seenAt.push(pulled) });
    expect(a.connections).toHaveLength(3);
    expect(seenAt).toHaveLength(3);
    // the first connection was judged once the second one's packets came 20 s later, long before the end
    expect(seenAt[0]).toBeLessThan(recs.length);
    expect(a.servers[0]!.summary).toMatch(/^3 connections/);
  });
});

describe('analyze --format ndjson', () => {
  it('streams connections as they are judged, then servers, then the run summary; each line has a type', async () => {
    const r = await runCli(['analyze', path.join(ROOT, 'captures', 'a20-retries-403-with-background.pcap'), path.join(ROOT, 'captures', 'a05-port-closed-rst.pcap'), '--format', 'ndjson']);
    expect(r.code).toBe(10);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const types = lines.map((l) => l.type);
    expect(types.filter((t) => t === 'connection')).toHaveLength(4);
    expect(types.filter((t) => t === 'server')).toHaveLength(2);
    expect(types.at(-1)).toBe('summary');
    // each input's connections come before its server line
    expect(types.indexOf('server')).toBeGreaterThan(types.indexOf('connection'));
    expect(lines.find((l) => l.type === 'connection').provisional).toBe(true);
    expect(lines.at(-1)).toMatchObject({ verdict: 'transport', reason: 'refused' });
  });
});

describe('a capture with more connections than the report lists', () => {
  it('keeps every connection in its server verdict but lists only maxConnections in full', async () => {
    const a = await analyzeCapture(path.join(ROOT, 'captures', 'a20-retries-403-with-background.pcap'), { maxConnections: 1, keylogBeside: false });
    expect(a.connections).toHaveLength(1);
    expect(a.input).toMatchObject({ connections_total: 3, connections_omitted: 2 });
    expect(a.servers[0]).toMatchObject({ reason: 'auth-rejected', connection_count: 3 });
    expect(a.servers[0]!.summary).toMatch(/^3 connections/);
  });
});

describe('server verdicts do not depend on how many connections are listed', () => {
  const dir = path.join(ROOT, 'captures');
  const files = fs.readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f));
  it.each(files)('%s: the same servers with every connection listed and with none', async (f) => {
    const full = await analyzeCapture(path.join(dir, f));
    const none = await analyzeCapture(path.join(dir, f), { maxConnections: 0 });
    expect(none.connections).toHaveLength(0);
    expect(none.input.connections_total).toBe(full.input.connections_total);
    // evidence is quoted from listed connections only, so it is what differs
    const facts = (a: typeof full) => a.servers.map((s) => ({ ...s, connections: [], evidence: [] }));
    expect(facts(none)).toEqual(facts(full));
  });
});

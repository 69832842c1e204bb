/**
 * The ladder steps of each connection against tshark's reading of the same frames (every bundled
 * capture, TLS dissected on 8443): each TLS handshake message, alert, HTTP request and answer, SYN, FIN
 * and RST tshark sees is on the ladder step that covers its frame. Then the drawing's rules: parties,
 * grouping of retransmissions, cut payloads, ICMP from its sender, the bound on steps.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture, type ConnectionResult } from '../src/diagnose/analyze.js';
import { MAX_LADDER_STEPS, type LadderStep } from '../src/diagnose/ladder.js';
import { handshakeName } from '../src/protocols/tls.js';
import { ROOT } from './helpers/cli.js';

const execFileAsync = promisify(execFile);
const dir = path.join(ROOT, 'captures');
const captures = fs.readdirSync(dir).filter((f) => f.endsWith('.pcap'));
const haveTshark = spawnSync('tshark', ['--version']).status === 0;
if (!haveTshark) console.warn('ladder: tshark is not installed: skipping the frame-by-frame comparison (.ci/run installs it)');

const camel = (s: string) => s.replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());

function stepAt(c: ConnectionResult, frame: number): LadderStep[] {
  return (c.ladder ?? []).filter((s) => s.frame <= frame && frame <= (s.last_frame ?? s.frame));
}

describe.skipIf(!haveTshark)('ladder steps against tshark, frame by frame', () => {
  // tshark's start-up is most of each case (~0.5 s): the cases run at once (vitest's maxConcurrency)
  it.concurrent.for(captures)('%s', async (name, { expect }) => {
    const file = path.join(dir, name);
    const a = await analyzeCapture(file);
    const { stdout: out } = await execFileAsync('tshark', ['-r', file, '-d', 'tcp.port==8443,tls', '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.number', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tls.handshake.type', '-e', 'tls.alert_message.desc', '-e', 'http.request.method', '-e', 'http.response.code', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'icmp.type', '-e', 'icmpv6.type'], { encoding: 'utf8' });
    let checked = 0;
    for (const line of out.trim().split('\n')) {
      const [fr, sp, dp, hs, alert, method, status, syn, fin, rst, icmp, icmp6] = line.split('\t');
      const frame = Number(fr);
      // the connection this frame belongs to (by its ports), if it is one ssmcap reports
      const conn = a.connections.find((c) => [c.client, c.proxy ?? c.server].some((e) => e.endsWith(`:${sp}`)) && [c.client, c.proxy ?? c.server].some((e) => e.endsWith(`:${dp}`)) && c.first_frame <= frame && frame <= c.last_frame);
      if (!conn) continue;
      const labels = stepAt(conn, frame).map((s) => s.label).join(' | ');
      const expectIn = (what: string) => {
        checked++;
        expect(labels, `frame ${frame} of ${name}: ${what}`).toContain(what);
      };
      if (icmp || icmp6) {
        // an ICMP error's TCP fields are those of the packet it quotes: the step is the ICMP error's own
        checked++;
        expect(stepAt(conn, frame).map((x) => x.kind), `frame ${frame} of ${name}`).toEqual(['icmp']);
        continue;
      }
      if (hs) for (const t of hs.split(',')) expectIn(camel(handshakeName(Number(t))));
      if (alert) expectIn('Alert');
      // tshark names an HTTP message at the frame that completes it, ssmcap at the frame of its first byte
      const upTo = (conn.ladder ?? []).filter((x) => x.frame <= frame && x.kind === 'http').map((x) => x.label).join(' | ');
      if (method) expect(upTo, `frame ${frame} of ${name}`).toContain(method);
      if (status) expect(upTo, `frame ${frame} of ${name}`).toContain(`HTTP ${status}`);
      if (syn === '1' || syn === 'True') expectIn('SYN');
      if (fin === '1' || fin === 'True') expectIn('FIN');
      if (rst === '1' || rst === 'True') expectIn('RST');
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('ladder drawing rules', () => {
  it('a proxy tunnel: TCP and CONNECT between client and proxy, TLS between client and server', async () => {
    const a = await analyzeCapture(path.join(dir, 'a17-proxy-tunnel-auth-403.pcap'));
    const t = a.connections.find((c) => c.role === 'proxy-tunnel')!;
    const ends = (s: LadderStep) => [s.from, s.to].sort().join('-');
    for (const s of t.ladder!) {
      if (s.kind === 'tcp' || s.kind === 'http') expect(ends(s), s.label).toBe('client-proxy');
      if (s.kind === 'tls') expect(ends(s), s.label).toBe('client-server');
    }
    expect(t.ladder!.find((s) => s.label.startsWith('CONNECT'))).toMatchObject({ from: 'client', to: 'proxy', kind: 'http' });
    expect(t.ladder!.find((s) => s.label.startsWith('HTTP 200'))).toMatchObject({ from: 'proxy', to: 'client' });
    // times are seconds since the connection's first packet, in order
    expect(t.ladder![0]!.time).toBe(0);
    for (let i = 1; i < t.ladder!.length; i++) expect(t.ladder![i]!.time).toBeGreaterThanOrEqual(t.ladder![i - 1]!.time);
  });

  it('ICMP errors come from the router that sent them, not the server', async () => {
    const a = await analyzeCapture(path.join(dir, 'a23-routed-icmp-host-unreachable.pcap'));
    const icmp = a.connections[0]!.ladder!.find((s) => s.kind === 'icmp')!;
    expect(icmp.to).toBe('client');
    expect(icmp.from).not.toBe('server');
    expect(a.servers[0]!.summary).toContain(icmp.from);
    expect(icmp.label).toMatch(/host unreachable/);
  });

  it('a burst of retransmissions is one step, with its packets and bytes', async () => {
    const a = await analyzeCapture(path.join(dir, 'a15-pmtu-blackhole.pcap'));
    const c = a.connections[0]!;
    const re = c.ladder!.filter((s) => s.retransmission);
    expect(re.length).toBeGreaterThan(0);
    expect(re.reduce((n, s) => n + (s.packets ?? 1), 0)).toBe(c.retransmissions.orig + c.retransmissions.resp);
  });

  it('payload the snaplen cut is marked cut; tcpdump text without payload shows sizes', async () => {
    const a = await analyzeCapture(path.join(dir, 'a19-auth-403-snaplen128.pcap'));
    expect(a.connections[0]!.ladder!.some((s) => s.cut && s.kind === 'tls')).toBe(true);
    const t = await analyzeCapture(path.join(dir, 'a03-auth-403-invalid-client-tls12.pcap.tcpdump.txt'));
    const data = t.connections[0]!.ladder!.filter((s) => s.bytes);
    expect(data.length).toBeGreaterThan(0);
    for (const s of data) expect(s.cut).toBe(true);
    // the bytes drawn are the bytes the connection carried (new data; nothing retransmitted here)
    const c = t.connections[0]!;
    expect(data.reduce((n, s) => n + s.bytes!, 0)).toBe(c.bytes.orig + c.bytes.resp);
  });

  it('stays within its bound, and slim connections past --max-connections carry none', async () => {
    const a = await analyzeCapture(path.join(dir, 'a20-retries-403-with-background.pcap'), { maxConnections: 1 });
    expect(a.connections).toHaveLength(1);
    for (const c of a.connections) expect(c.ladder!.length).toBeLessThanOrEqual(MAX_LADDER_STEPS);
    const streamed: ConnectionResult[] = [];
    await analyzeCapture(path.join(dir, 'a20-retries-403-with-background.pcap'), { maxConnections: 1, onConnection: (r) => streamed.push(r) });
    // NDJSON streams every connection with its ladder
    expect(streamed.length).toBeGreaterThan(1);
    for (const r of streamed) expect(r.ladder!.length).toBeGreaterThan(0);
  });
});

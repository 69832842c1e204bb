/**
 * Logs beside the capture: the seed's vmanage-server.log and SSM On-Prem /var/log/messages lines (as
 * published, and as the translated copy cut them), logs built from the documented formats (cut lines,
 * other years, clock offsets, gzip, bytes in another encoding), matching to the bundled captures'
 * connections, the findings the logs change, and redaction of every echoed line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCapture, type CaptureAnalysis } from '../src/diagnose/analyze.js';
import { applyLogs } from '../src/diagnose/logs.js';
import { logsDay, parseTimeZone, readLogFile, readLogs, resolveLogYears } from '../src/input/logs.js';
import { buildReport, reportJson, reportText } from '../src/report/analysis.js';
import { ROOT, runCli } from './helpers/cli.js';
import { ngxStamp, sysStamp, TOKEN_URI, vmStamp } from './helpers/log-stamps.js';

const FIX = path.join(ROOT, 'test', 'fixtures', 'logs');
const fix = (n: string) => path.join(FIX, n);
const cap = (n: string) => path.join(ROOT, 'captures', n);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-logs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, body: string | Uint8Array) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, body);
  return p;
};

/** every secret the seed's lines and the built logs carry: none may appear in any output */
const SECRETS = [
  'd1b_ZV4QWs4UzB00_YYHz0Ek_qxcvywN4d2GD40LQOyKfMOV6MoKmVchUBX3GsGx',
  'jF6qntGFm429n2B7tlgJPNHueoyjjn8p6zAn7BhYLUhjAY5BZlTUV9Q0r_Zk7uBf',
  'CiscoLab%21234567',
  'Carnation%2321',
  'S3cr3tS3cr3tValue_abcdef',
  'AbCdEfGhIjKlMnOp',
  'Pa55word%21',
  'RubyHashSecret99',
];
const leaks = (s: string) => SECRETS.filter((x) => s.includes(x) || s.includes(x.slice(0, 12)));

// ---- stamps in the documented formats

/** the vManage lines of one refused sync, at capture time t (epoch seconds), in IST */
function vmanageSync(t: number, error = 'invalid_client', status = 403): string[] {
  const L = (dt: number, lvl: string, cls: string, msg: string) => `${vmStamp(t + dt)} ${lvl.padEnd(5)} [vm1] [${cls}] (default task-7) |default| ${msg}`;
  return [
    L(-0.01, 'INFO', 'SmartLicensingIntegrationManager', 'user is using in On Prem mode'),
    L(-0.009, 'INFO', 'SmartLicensingUtil', 'intializing client Map {clientUrl=127.0.0.55, client_secret=S3cr3tS3cr3tValue_abcdef, client_id=AbCdEfGhIjKlMnOp}'),
    L(-0.005, 'INFO', 'SmartLicensingUtil', `URL ${TOKEN_URI}`),
    L(0.02, 'ERROR', 'RestAPIClient', `Failed to process POST request uri: ${TOKEN_URI.replace('Pa55word%21', '*******')} . Code: ${status} Message: {"error":"${error}","error_message":"Grant not found. Ensure that the given grant details are correct."}`),
    L(0.021, 'ERROR', 'SmartLicensingUtil', "Failed to authenticate user - 'admin'."),
  ];
}

async function conns(file: string): Promise<{ a: CaptureAnalysis; starts: number[]; ends: number[] }> {
  const a = await analyzeCapture(cap(file), { keylogBeside: false });
  const starts = a.connections.map((c) => Number(c.start));
  return { a, starts, ends: a.connections.map((c, i) => starts[i]! + c.duration) };
}

describe('the seed lines', () => {
  it("vmanage-server.log: IST to UTC, the 403 invalid_client, the user, on-prem mode, server and proxy lines", async () => {
    const f = await readLogFile(fix('seed-pt-vmanage-server.log'));
    expect(f.kind).toBe('vmanage-server');
    expect(f).toMatchObject({ lines: 12, parsed: 12, skipped: 0, error: null });
    expect(f.tz).toEqual(['IST (+05:30)']);
    const failed = f.events.find((e) => e.kind === 'vmanage-request-failed')!;
    expect(failed.line).toBe(10);
    expect(new Date(failed.time! * 1000).toISOString()).toBe('2023-01-13T11:59:03.490Z');
    expect(failed).toMatchObject({ method: 'POST', status: 403, error: 'invalid_client', description: 'Grant not found. Ensure that the given grant details are correct.' });
    expect(f.events.find((e) => e.kind === 'vmanage-auth-failed' && e.user)!.user).toBe('ptundalw');
    expect(f.events.find((e) => e.kind === 'vmanage-server-url')!.server_url).toBe('172.20.85.137');
    expect(f.events.filter((e) => e.kind === 'vmanage-proxy').map((e) => e.proxy_host ?? e.proxy_port)).toEqual(['', '']);
    expect(f.events.filter((e) => e.kind === 'vmanage-onprem-mode').length).toBeGreaterThanOrEqual(3);
    expect(f.events.filter((e) => e.kind === 'vmanage-token-request').length).toBe(2);
  });

  it('SSM On-Prem messages: Rails request, nginx access (+0000), nginx upstream errors; the rest skipped and counted', async () => {
    const f = await readLogFile(fix('seed-pt-ssm-messages.log'));
    expect(f.kind).toBe('ssm-syslog');
    expect(f).toMatchObject({ lines: 16, parsed: 6, skipped: 10, unrecognized: 0, error: null });
    const access = f.events.filter((e) => e.kind === 'ssm-access');
    expect(access.map((e) => [e.client, e.method, e.status])).toEqual([
      ['10.110.35.124', 'GET', 200],
      ['10.66.76.85', 'POST', 403],
    ]);
    expect(new Date(access[1]!.time! * 1000).toISOString()).toBe('2023-01-13T11:17:01.000Z');
    const rails = f.events.filter((e) => e.kind === 'ssm-request');
    expect(rails.map((e) => [e.method, e.path, e.status])).toEqual([
      ['GET', '/sessions/get_user', 200],
      ['POST', '/oauth/token', 403],
    ]);
    const up = f.events.filter((e) => e.kind === 'ssm-upstream-failed');
    expect(up.map((e) => e.detail)).toEqual(['connect() failed (111: Connection refused)', 'upstream server temporarily disabled']);
    expect(up[0]).toMatchObject({ client: '10.66.76.85', method: 'POST', upstream: expect.stringMatching(/^http:\/\/\[fd00:dead:beef::5\]:3000\/oauth\/token/) });
    // year-less syslog stamps take the year of the file's own dated lines (nginx access), before any capture's
    resolveLogYears([f], 2026);
    expect(new Date(rails[1]!.time! * 1000).toISOString()).toBe('2023-01-13T11:17:01.000Z');
  });

  it('the copy cut at a fixed width: cut vManage ERROR lines are kept as cut errors, nothing invented', async () => {
    const f = await readLogFile(fix('seed-zh-vmanage-server-cut.log'));
    expect(f).toMatchObject({ kind: 'vmanage-server', lines: 12, parsed: 3, skipped: 9, error: null });
    for (const e of f.events) {
      expect(e.kind).toBe('vmanage-error');
      expect(e.cut).toBe(true);
      expect(e.status).toBeUndefined();
    }
    const s = await readLogFile(fix('seed-zh-ssm-messages.log'));
    expect(s.error).toBeNull();
    const post = s.events.find((e) => e.kind === 'ssm-request' && e.method === 'POST')!;
    expect(post.cut).toBe(true);
    expect(post.status).toBeUndefined();
  });
});

describe('time zones and years', () => {
  it('parses abbreviations, offsets and IANA names', () => {
    expect(parseTimeZone('IST')).toEqual({ name: 'IST', fixed: 330 });
    expect(parseTimeZone('+05:30')).toMatchObject({ fixed: 330 });
    expect(parseTimeZone('-0800')).toMatchObject({ fixed: -480 });
    expect(parseTimeZone('UTC+2')).toMatchObject({ fixed: 120 });
    expect(parseTimeZone('Asia/Kolkata')).toMatchObject({ iana: 'Asia/Kolkata' });
    expect(parseTimeZone('Mars/Olympus')).toBeNull();
    expect(parseTimeZone('+25:00')).toBeNull();
    expect(parseTimeZone('soon')).toBeNull();
  });

  it('--log-tz puts zone-less stamps (syslog, bare nginx error) in that zone, IANA with its summer time', async () => {
    const p = write('tz.log', 'Jul 13 13:17:01 ssm 504f: 2023/07/13 13:17:01 [error] 47#47: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: , request: "POST /backend/oauth/token HTTP/1.1", upstream: "http://127.0.0.1:3000/oauth/token", host: "x"\n2023/07/13 13:17:02 [error] 47#47: *2 no live upstreams while connecting to upstream, client: 10.0.0.1, server: , request: "POST /backend/oauth/token HTTP/1.1", host: "x"\n');
    const berlin = await readLogFile(p, { tz: 'Europe/Berlin', year: 2023 });
    expect(berlin.events.map((e) => new Date(e.time! * 1000).toISOString())).toEqual(['2023-07-13T11:17:01.000Z', '2023-07-13T11:17:02.000Z']);
    expect(berlin.events[1]).toMatchObject({ kind: 'ssm-upstream-failed', detail: 'no live upstreams' });
    const plus = await readLogFile(p, { tz: '+02:00', year: 2023 });
    expect(plus.events.map((e) => e.time)).toEqual(berlin.events.map((e) => e.time));
    const utc = await readLogFile(p, { year: 2023 });
    expect(utc.events[0]!.time! - berlin.events[0]!.time!).toBe(7200);
  });

  it('a syslog without dated lines takes the capture year, the year before for a December log beside a January capture', async () => {
    const p = write('years.log', 'Dec 31 23:59:58 ssm 1a1f: method=POST path=/oauth/token format=json status=403 duration=1.0\nJan  1 00:00:01 ssm 1a1f: method=POST path=/oauth/token format=json status=403 duration=1.0\n');
    const f = await readLogFile(p);
    resolveLogYears([f], 2024, Date.UTC(2024, 0, 1, 0, 0, 5) / 1000);
    expect(f.events.map((e) => new Date(e.time! * 1000).toISOString())).toEqual(['2023-12-31T23:59:58.000Z', '2024-01-01T00:00:01.000Z']);
    resolveLogYears([f], 2019);
    expect(new Date(f.events[1]!.time! * 1000).toISOString()).toBe('2019-01-01T00:00:01.000Z');
    // year-less stamps never decide the day of tcpdump text
    expect(logsDay([f])).toBeNull();
    expect(logsDay([await readLogFile(fix('seed-pt-vmanage-server.log'))])).toBe('2023-01-13');
  });
});

describe('bad log input never stops the run', () => {
  it('every cut of every seed line: no throw, no status or error word invented', async () => {
    const lines = [...fs.readFileSync(fix('seed-pt-vmanage-server.log'), 'utf8').split('\n'), ...fs.readFileSync(fix('seed-pt-ssm-messages.log'), 'utf8').split('\n')].filter(Boolean);
    const cuts: string[] = [];
    for (const l of lines) for (let n = 1; n < l.length; n += 7) cuts.push(l.slice(0, n));
    const f = await readLogFile(write('cuts.log', cuts.join('\n')));
    expect(f.error).toBeNull();
    expect(f.lines).toBe(cuts.length);
    expect(f.parsed + f.skipped).toBe(cuts.length);
    for (const e of f.events) {
      const line = cuts[e.line - 1]!;
      if (e.status !== undefined) expect(line).toContain(String(e.status));
      if (e.error !== undefined) expect(line).toContain(`"error":"${e.error}"`);
    }
  });

  it('bytes in another encoding, CRLF, a BOM, NULs in the middle, a huge line: read on', async () => {
    const good = fs.readFileSync(fix('seed-pt-vmanage-server.log'));
    const latin1 = Buffer.from('13-Jan-2023 17:29:03,600 IST ERROR [vm] [SmartLicensingUtil] (t) |default| Failed to authenticate user - \'jos\xe9\'.\r\n', 'latin1');
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good.subarray(0, 400), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x0a]), good, Buffer.from('\r\n'), latin1, Buffer.from('x'.repeat(200_000) + '\n'), Buffer.from('garbage \x00\x01 line\n')]);
    const f = await readLogFile(write('enc.log', body));
    expect(f.error).toBeNull();
    expect(f.events.filter((e) => e.kind === 'vmanage-request-failed')).toHaveLength(1);
    const jose = f.events.find((e) => e.user?.startsWith('jos'))!;
    expect(jose.user).toBe('jos\ufffd');
    expect(f.unrecognized).toBeGreaterThanOrEqual(2);
  });

  it('gzip: the same events; a gzip cut short keeps what was read and says where it stopped', async () => {
    const plain = fs.readFileSync(fix('seed-pt-ssm-messages.log'));
    const gz = gzipSync(plain);
    const a = await readLogFile(fix('seed-pt-ssm-messages.log'));
    const b = await readLogFile(write('messages.1.gz', gz));
    expect(b.compression).toBe('gzip');
    expect(b.events.map((e) => [e.line, e.kind, e.time])).toEqual(a.events.map((e) => [e.line, e.kind, e.time]));
    const cut = await readLogFile(write('cut.gz', gz.subarray(0, gz.length - 40)));
    expect(cut.error).toMatch(/cut\.gz: line \d+ .*gzip/);
    expect(cut.events.length).toBeGreaterThan(0);
    const bin = await readLogFile(cap('a05-port-closed-rst.pcap'));
    expect(bin.error).toMatch(/not a text log/);
    expect(bin.events).toHaveLength(0);
  });

  it('a directory of logs is read recursively, in order; a missing path is named', async () => {
    const d = path.join(tmp, 'dir');
    fs.mkdirSync(path.join(d, 'sub'), { recursive: true });
    fs.copyFileSync(fix('seed-pt-vmanage-server.log'), path.join(d, 'a-vmanage-server.log'));
    fs.writeFileSync(path.join(d, 'sub', 'messages.gz'), gzipSync(fs.readFileSync(fix('seed-pt-ssm-messages.log'))));
    const r = await readLogs([d, path.join(tmp, 'nope.log')]);
    expect(r.files.map((f) => path.relative(d, f.path))).toEqual(['a-vmanage-server.log', path.join('sub', 'messages.gz')]);
    expect(r.files.map((f) => f.kind)).toEqual(['vmanage-server', 'ssm-syslog']);
    expect(r.missing).toEqual([path.join(tmp, 'nope.log')]);
  });
});

describe('logs matched to the capture', () => {
  it('a vManage log whose clock is 4 min behind: the offset is found, three retried 403s become invalid-client', async () => {
    const { a, ends } = await conns('a20-retries-403-with-background.pcap');
    expect(a.servers[0]!.reason).toBe('auth-rejected');
    const skew = -240;
    const lines = ends.flatMap((t) => vmanageSync(t - 0.03 + skew));
    const f = await readLogFile(write('vmanage-server.log', lines.join('\n') + '\n'));
    const la = applyLogs([a], [f]);
    expect(la.logs[0]!.offset_seconds).toBeCloseTo(skew, 0);
    expect(la.logs[0]!.offset_pairs).toBeGreaterThanOrEqual(6);
    const s = a.servers[0]!;
    expect(s).toMatchObject({ verdict: 'application', reason: 'invalid-client' });
    expect(s.summary).toMatch(/403 invalid_client .*vmanage-server\.log line 4/);
    expect(s.hint).toMatch(/Resource Owner Grant/);
    expect(s.evidence.some((e) => e.log?.line === 4 && e.log.file === f.path)).toBe(true);
    // each connection gets its own sync's lines
    a.connections.forEach((c, i) => {
      expect(c.reason).toBe('invalid-client');
      expect(c.log_events!.filter((n) => n.kind === 'vmanage-request-failed').map((n) => n.line)).toEqual([i * 5 + 4]);
    });
    expect(la.findings).toEqual([]);
    // the logged server is the capture's, no proxy on either side: nothing to note
    expect(la.notes).toEqual([]);
    // one timeline: connection starts and ends, and the log lines between, on the capture's clock
    const tl = la.timeline;
    expect(tl.map((t) => t.time)).toEqual([...tl.map((t) => t.time)].sort());
    const i0 = tl.findIndex((t) => t.kind === 'connection-start' && t.connection === a.connections[0]!.id);
    const iErr = tl.findIndex((t) => t.kind === 'vmanage-request-failed' && t.line === 4);
    expect(i0).toBeLessThan(iErr);
    // corrected by the offset, the 403 line lands at its connection's end (it was written 10 ms before it)
    expect(Math.abs(Date.parse(tl[iErr]!.time) / 1000 - (ends[0]! - 0.01))).toBeLessThan(0.1);
    expect(tl[iErr]!.log_time).not.toBe(tl[iErr]!.time);
  });

  it('an SSM syslog 5 min ahead, to the second: Rails and nginx lines of our client matched, another client\'s not', async () => {
    const { a, starts, ends } = await conns('a20-retries-403-with-background.pcap');
    const skew = 307;
    const lines: string[] = ['Nov 22 17:40:00 ssm chronyd[1319]: Selected source 10.0.0.1'];
    ends.forEach((t, i) => {
      const ts = t + skew;
      lines.push(`${sysStamp(ts)} ssm 1a1fca641d0a: method=POST path=/oauth/token format=json controller=Doorkeeper::OauthTokensController action=create status=403 duration=4.21 view=0.53 db=1.12`);
      lines.push(`${sysStamp(ts)} ssm 504f06c0d581: 127.0.0.2 - - [${ngxStamp(ts)}] "POST /backend/oauth/token?client_id=AbCdEfGhIjKlMnOp&client_secret=S3cr3tS3cr3tValue_abcdef HTTP/1.1" 403 121 "-" "Apache-HttpClient/4.5.11 (Java/11.0.7)" "-"`);
      if (i === 1) lines.push(`${sysStamp(starts[i]! + skew)} ssm 504f06c0d581: 127.0.0.9 - - [${ngxStamp(starts[i]! + skew)}] "GET /backend/sessions/get_user HTTP/1.1" 200 271 "-" "Mozilla/5.0"`);
    });
    const f = await readLogFile(write('messages', lines.join('\n') + '\n'));
    expect(f.kind).toBe('ssm-syslog');
    const la = applyLogs([a], [f]);
    expect(Math.abs(la.logs[0]!.offset_seconds! - skew)).toBeLessThanOrEqual(1.5);
    const other = la.timeline.find((t) => t.source === 'log' && t.text.includes('127.0.0.9'))!;
    expect(other.connection).toBeUndefined();
    a.connections.forEach((c) => expect(c.log_events!.map((n) => n.kind).sort()).toEqual(['ssm-access', 'ssm-request']));
    // a 403 without its error word confirms the refusal but does not name it
    expect(a.servers[0]!.reason).toBe('auth-rejected');
    expect(a.servers[0]!.evidence.filter((e) => e.log).length).toBeGreaterThan(0);
  });

  it("vManage's logged server and proxy against the capture's connections", async () => {
    const { a, ends } = await conns('a19-auth-403-snaplen128.pcap');
    const lines = vmanageSync(ends[0]! - 0.03).map((l) => l.replace('clientUrl=127.0.0.55', 'clientUrl=https://10.9.9.9:8443'));
    lines.push(lines[0]!.replace(/\|default\| .*/, '|default| RestAPI proxy host 10.1.2.3'));
    const la = applyLogs([a], [await readLogFile(write('settings.log', lines.join('\n')))]);
    expect(la.notes).toHaveLength(2);
    expect(la.notes[0]).toMatch(/vManage uses SSM On-Prem at 10\.9\.9\.9 \(settings\.log line 2\), but the capture shows connections to 127\.0\.0\.55/);
    expect(la.notes[1]).toMatch(/proxy 10\.1\.2\.3 .* no CONNECT/);
    const t = reportText(buildReport([a], 'test', la));
    expect(t).toMatch(/^log: vManage uses SSM On-Prem at 10\.9\.9\.9/m);
  });

  it('SSM behind NAT (another client address): matched by time alone', async () => {
    const { a, ends } = await conns('a19-auth-403-snaplen128.pcap');
    const ts = ends[0]!;
    const line = `${sysStamp(ts)} ssm 504f06c0d581: 10.66.76.85https://10.66.76.85 - - [${ngxStamp(ts)}] "POST /backend/oauth/token HTTP/1.1" 403 121 "-" "Apache-HttpClient/4.5.11 (Java/11.0.7)" "-"`;
    const la = applyLogs([a], [await readLogFile(write('nat.log', line + '\n'))]);
    expect(la.logs[0]!.matched).toBe(1);
    expect(a.connections[0]!.log_events![0]).toMatchObject({ kind: 'ssm-access', line: 1 });
  });

  it("SSM's nginx failing to reach its backend is named as such, not as the network", async () => {
    const { a, starts, ends } = await conns('a19-auth-403-snaplen128.pcap');
    const ts = ends[0]!;
    const req = 'request: "POST /backend/oauth/token?grant_type=password&client_id=AbCdEfGhIjKlMnOp&client_secret=S3cr3tS3cr3tValue_abcdef HTTP/1.1", upstream: "http://127.0.0.1:3000/oauth/token?client_secret=S3cr3tS3cr3tValue_abcdef", host: "127.0.0.55:8443"';
    const lines = [
      `${sysStamp(starts[0]!)} ssm 504f06c0d581: 2023/07/13 11:17:01 [error] 47#47: *1576 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.2, server: , ${req}`,
      `${sysStamp(ts)} ssm 504f06c0d581: 127.0.0.2 - - [${ngxStamp(ts)}] "POST /backend/oauth/token HTTP/1.1" 502 157 "-" "Apache-HttpClient/4.5.11 (Java/11.0.7)" "-"`,
    ];
    const la = applyLogs([a], [await readLogFile(write('backend.log', lines.join('\n') + '\n'))]);
    const s = a.servers[0]!;
    expect(s).toMatchObject({ verdict: 'application', reason: 'ssm-backend-failed' });
    expect(s.summary).toMatch(/could not reach its own backend .*not the network/);
    expect(s.hint).toMatch(/restart its services/);
    const r = buildReport([a], 'test', la);
    expect(r.verdict).toBe('application');
    expect(leaks(reportJson(r) + reportText(r))).toEqual([]);
  });

  it('a log error with no connection at its time says the capture was taken at another time', async () => {
    const { a, ends } = await conns('a19-auth-403-snaplen128.pcap');
    const f = await readLogFile(write('later.log', vmanageSync(ends[0]! + 7200).join('\n')));
    const la = applyLogs([a], [f]);
    expect(la.logs[0]!.matched).toBe(0);
    expect(a.servers[0]!.reason).toBe('auth-rejected');
    expect(la.findings).toHaveLength(1);
    expect(la.findings[0]).toMatchObject({ verdict: 'application', reason: 'invalid-client' });
    expect(la.findings[0]!.summary).toMatch(/no connection in the capture at that time .* taken at another time or place$/);
  });

  it("one sync's lines minutes away from the capture's one connection: not matched by a guessed offset, the distance said", async () => {
    const { a, ends } = await conns('a19-auth-403-snaplen128.pcap');
    const la = applyLogs([a], [await readLogFile(write('lone.log', vmanageSync(ends[0]! - 0.03 + 400).join('\n')))]);
    expect(la.logs[0]!.offset_seconds).toBeNull();
    expect(a.servers[0]!.reason).toBe('auth-rejected');
    expect(la.findings[0]!.summary).toMatch(/the nearest connection ended (399|400)\.\d s earlier/);
    // a few seconds off is one sync's own lines: matched
    const { a: b, ends: e2 } = await conns('a19-auth-403-snaplen128.pcap');
    const near = applyLogs([b], [await readLogFile(write('near.log', vmanageSync(e2[0]! - 0.03 + 20).join('\n')))]);
    expect(near.logs[0]!.offset_seconds).toBeCloseTo(20, 0);
    expect(b.servers[0]!.reason).toBe('invalid-client');
  });

  it('logs alone: the verdict comes from them', async () => {
    const la = applyLogs([], [await readLogFile(fix('seed-pt-vmanage-server.log')), await readLogFile(fix('seed-pt-ssm-messages.log'))]);
    expect(la.logs_only).toBe(true);
    const r = buildReport([], 'test', la);
    expect(r).toMatchObject({ verdict: 'application', reason: 'invalid-client' });
    expect(r.summary).toMatch(/^from the logs: seed-pt-vmanage-server\.log line 10/);
    // the SSM side: a 403 served after nginx failed one backend, not SSM's backend failing
    const ssm = la.findings.find((f) => f.events.some((e) => e.file.endsWith('ssm-messages.log')))!;
    expect(ssm.reason).toBe('auth-rejected');
    expect(ssm.summary).toMatch(/another answered/);
    expect(leaks(reportJson(r) + reportText(r))).toEqual([]);
  });
});

describe('ssmcap analyze --log', () => {
  /** a vManage log whose times align with a19's connection, in a directory, gzip */
  async function a19Log(): Promise<string> {
    const { ends } = await conns('a19-auth-403-snaplen128.pcap');
    const d = path.join(tmp, 'cli-logs');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'vmanage-server.log.1.gz'), gzipSync(vmanageSync(ends[0]! - 0.03).join('\n') + '\n'));
    fs.writeFileSync(path.join(d, 'rails.log'), `Nov 22 17:43:55 ssm 1a1f: method=POST path=/oauth/token format=json params={"client_secret"=>"RubyHashSecret99"} status=403 duration=1.0\n`);
    return d;
  }

  it('text, JSON and NDJSON: invalid-client with the log line as evidence, logs on the timeline, no secret anywhere', async () => {
    const d = await a19Log();
    const args = ['analyze', cap('a19-auth-403-snaplen128.pcap'), '--log', d, '--log', fix('seed-pt-vmanage-server.log'), '--log', fix('seed-pt-ssm-messages.log')];
    // the three formats' processes at once
    const [text, json, nd] = await Promise.all([runCli(args), runCli([...args, '--format', 'json']), runCli([...args, '--format', 'ndjson'])]);
    expect(text.code).toBe(12);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^APPLICATION \(invalid-client\)/);
    expect(text.stdout).toMatch(/log +vmanage-server\.log\.1\.gz line 4 \(.* IST\): vManage: POST oauth\/token failed, answered 403 invalid_client/);
    expect(text.stdout).toMatch(/timeline \(UTC/);
    expect(text.stdout).toMatch(/no connection in the capture at that time/);
    expect(json.code).toBe(12);
    const r = JSON.parse(json.stdout);
    expect(r.reason).toBe('invalid-client');
    expect(r.logs.map((l: { kind: string; compression: string | null }) => [l.kind, l.compression])).toEqual([
      ['ssm-syslog', null],
      ['vmanage-server', 'gzip'],
      ['vmanage-server', null],
      ['ssm-syslog', null],
    ]);
    expect(r.logs[1].offset_seconds).toBe(0);
    expect(r.servers[0].log_events.some((e: { line: number; kind: string }) => e.line === 4 && e.kind === 'vmanage-request-failed')).toBe(true);
    expect(r.connections[0].log_events.length).toBeGreaterThan(0);
    expect(r.timeline.some((t: { source: string }) => t.source === 'capture')).toBe(true);
    expect(r.log_findings.length).toBeGreaterThan(0);
    expect(nd.code).toBe(12);
    const recs = nd.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const types = new Set(recs.map((x) => x.type));
    for (const t of ['log', 'log_event', 'server', 'log_finding', 'summary']) expect(types.has(t)).toBe(true);
    expect(recs.find((x) => x.type === 'server').reason).toBe('invalid-client');
    expect(recs.find((x) => x.type === 'connection' && x.provisional === false).reason).toBe('invalid-client');
    for (const out of [text.stdout, json.stdout, nd.stdout]) expect(leaks(out)).toEqual([]);
    for (const out of [json.stdout, nd.stdout]) {
      expect(out).toContain('client_id=AbCdEf***');
      expect(out).toContain('client_secret=***');
    }
  });

  it('tcpdump text without dates takes its day from the logs', async () => {
    const d = await a19Log();
    const [r, p] = await Promise.all([runCli(['analyze', cap('a19-auth-403-snaplen128.pcap.tcpdump.txt'), '--log', d, '--format', 'json']), runCli(['analyze', cap('a19-auth-403-snaplen128.pcap.tcpdump.txt'), '--format', 'json'])]);
    const j = JSON.parse(r.stdout);
    expect(j.connections[0].start.startsWith(String(Math.floor(Date.UTC(2026, 10, 22) / 1e9)))).toBe(true);
    expect(j.servers[0].reason).toBe('invalid-client');
    // without logs the day is 1970-01-01 and nothing would match
    const plain = JSON.parse(p.stdout);
    expect(Number(plain.connections[0].start)).toBeLessThan(86400);
  });

  it('logs only; a missing log; a bad --log-tz; nothing at all', async () => {
    // the four processes at once
    const [only, missing, tz, none] = await Promise.all([
      runCli(['analyze', '--log', fix('seed-pt-vmanage-server.log')]),
      runCli(['analyze', cap('a19-auth-403-snaplen128.pcap'), '--log', path.join(tmp, 'none.log')]),
      runCli(['analyze', cap('a19-auth-403-snaplen128.pcap'), '--log', fix('seed-pt-ssm-messages.log'), '--log-tz', 'Mars/Olympus']),
      runCli(['analyze']),
    ]);
    expect(only.code).toBe(12);
    expect(only.stdout).toMatch(/^APPLICATION \(invalid-client\): from the logs/);
    expect(only.stdout).toMatch(/no capture given/);
    expect(leaks(only.stdout)).toEqual([]);
    expect(missing.code).toBe(12);
    expect(missing.stderr.trim().split('\n')).toHaveLength(2);
    expect(missing.stderr).toMatch(/none\.log: line 0: cannot read: no such file/);
    expect(tz.code).toBe(2);
    expect(tz.stderr).toMatch(/--log-tz takes a zone/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs a capture, or --log/);
  });
});

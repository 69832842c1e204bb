/**
 * The HTML report without a browser: self-contained (no script, nothing fetched), redacted (the
 * plain-HTTP capture carries the token URL in clear), odd strings escaped; one SVG arrow per ladder
 * step. The text ladder (--ladder) fits its width; --show-secrets works on a terminal only.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/diagnose/analyze.js';
import { applyLogs } from '../src/diagnose/logs.js';
import { readLogFile } from '../src/input/logs.js';
import { buildReport, reportText } from '../src/report/analysis.js';
import { reportHtml } from '../src/report/html.js';
import { CLI, ROOT, runCli } from './helpers/cli.js';
import { vmStamp } from './helpers/log-stamps.js';

const cap = (n: string) => path.join(ROOT, 'captures', n);
const OUT = path.join(ROOT, 'test', 'output');
fs.mkdirSync(OUT, { recursive: true });

/** the credentials the plain-HTTP capture sends in its token URL, read from the capture's bytes */
function secretsOf(file: string): { secret: string; password: string; clientId: string } {
  const text = fs.readFileSync(file).toString('latin1');
  const get = (k: string) => new RegExp(`[?&]${k}=([^&\\s]+)`).exec(text)![1]!;
  return { secret: get('client_secret'), password: get('password'), clientId: get('client_id') };
}

async function report(name: string) {
  const a = await analyzeCapture(cap(name));
  return buildReport([a], '0.0.0-test');
}

function arrowsPerLadder(html: string): number[] {
  return [...html.matchAll(/<svg class="ladder"[\s\S]*?<\/svg>/g)].map((m) => (m[0].match(/<g class="arrow[ "]/g) ?? []).length);
}

describe('analyze --format html', () => {
  it('writes one self-contained, redacted file: no script, nothing fetched from the network', async () => {
    const file = path.join(OUT, 'a12.html');
    const r = await runCli(['analyze', cap('a12-plain-http-to-tls-port.pcap'), '--format', 'html', '-o', file]);
    expect(r.code).toBe(11);
    expect(r.stderr).toBe('');
    const html = fs.readFileSync(file, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toMatch(/<\/html>\n$/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(|@import|<link\b|<iframe|<img\b|<object|<embed/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    // the token URL went through the redaction step
    const s = secretsOf(cap('a12-plain-http-to-tls-port.pcap'));
    expect(s.secret.length).toBeGreaterThan(8);
    expect(html).toContain('client_secret=***');
    expect(html).toContain(`client_id=${s.clientId.slice(0, 6)}***`);
    expect(html).not.toContain(s.secret);
    expect(html).not.toContain(s.password);
    expect(html).not.toContain(s.clientId);
    // what a person reads: the verdict banner, the hint, evidence with frames, the checksum note
    expect(html).toMatch(/<div class="banner v-tls" id="verdict">TLS \(not-tls\)/);
    expect(html).toContain('Next step:');
    expect(html).toMatch(/frame 4<\/span> the client&#39;s first bytes are not a TLS record/);
    expect(html).toMatch(/checksum offload/);
  });

  it('draws one arrow per ladder step, and the routers and proxies as columns', async () => {
    for (const name of ['a07-icmp-admin-prohibited.pcap', 'a17-proxy-tunnel-auth-403.pcap', 'a23-routed-icmp-host-unreachable.pcap', 'a15-pmtu-blackhole.pcap']) {
      const rep = await report(name);
      const html = reportHtml(rep);
      const listed = rep.servers.flatMap((s) => rep.connections.filter((c) => s.connections.includes(c.id)));
      expect(arrowsPerLadder(html)).toEqual(listed.map((c) => c.ladder!.length));
    }
    const routed = reportHtml(await report('a23-routed-icmp-host-unreachable.pcap'));
    expect(routed).toMatch(/<g class="column"><text[^>]*>router<\/text>/);
    expect(routed).toMatch(/<g class="arrow k-icmp"/);
    const proxy = reportHtml(await report('a17-proxy-tunnel-auth-403.pcap'));
    expect(proxy).toMatch(/<g class="column"><text[^>]*>proxy<\/text>/);
    const pmtu = reportHtml(await report('a15-pmtu-blackhole.pcap'));
    expect(pmtu).toMatch(/<g class="arrow k-tcp retransmission"/);
    const cut = reportHtml(await report('a19-auth-403-snaplen128.pcap'));
    expect(cut).toMatch(/<g class="arrow k-tls cut"/);
  });

  it('escapes what the capture says (an SNI or a label with < > & ")', async () => {
    const rep = await report('a01-healthy-tls12.pcap');
    const c = rep.connections[0]!;
    c.tls!.sni = 'ssm<script>alert(1)</script>&"x\'.example';
    c.ladder![0]!.label = '<b>SYN</b> & "friends"';
    rep.servers[0]!.evidence.push({ frame: 1, text: 'x</li><script>y</script>' });
    const html = reportHtml(rep);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<b>SYN');
    expect(html).toContain('SNI ssm&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x&#39;.example');
    expect(html).toContain('&lt;b&gt;SYN&lt;/b&gt; &amp; &quot;friends&quot;');
    expect(html).toContain('x&lt;/li&gt;&lt;script&gt;y&lt;/script&gt;');
  });
});

describe('analyze --ladder (text)', () => {
  it('draws the ladder within the width, labels redacted before they are wrapped', async () => {
    const rep = await report('a12-plain-http-to-tls-port.pcap');
    const s = secretsOf(cap('a12-plain-http-to-tls-port.pcap'));
    for (const width of [60, 80, 132]) {
      const text = reportText(rep, { ladder: true, width });
      const ladder = text.split('\n').filter((l) => /^\s+\d+ \d+\.\d{6}  \|/.test(l));
      expect(ladder).toHaveLength(rep.connections[0]!.ladder!.length);
      for (const l of text.split('\n').filter((x) => x.startsWith('    '))) expect(l.length, l).toBeLessThanOrEqual(width);
      expect(text).not.toContain(s.secret);
      // no piece of a secret survives the wrapping either
      for (const piece of [s.secret.slice(-12), s.clientId.slice(-12), s.password.slice(-4)]) expect(text).not.toContain(piece);
    }
    const r = await runCli(['analyze', cap('a17-proxy-tunnel-auth-403.pcap'), '--ladder']);
    expect(r.stdout).toMatch(/client\s+proxy\s+server/);
    expect(r.stdout).toMatch(/\|-+SYN-+>\|/);
    expect(r.stdout).toMatch(/ClientHello/);
    // no colour when not a terminal
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('colours a pipe only when asked (--color)', async () => {
    const on = await runCli(['analyze', cap('a05-port-closed-rst.pcap'), '--color'], { env: { NO_COLOR: '' } });
    expect(on.stdout).toMatch(/\x1b\[/);
    const off = await runCli(['analyze', cap('a05-port-closed-rst.pcap')], { env: { NO_COLOR: '' } });
    expect(off.stdout).not.toMatch(/\x1b\[/);
  });
});

const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!haveScript) console.warn('html-report: util-linux script(1) is absent: skipping the terminal (pty) cases of --show-secrets');

/** run the CLI with its standard output on a pseudo-terminal (script(1)), as a user at a terminal */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = { NO_COLOR: '1' }): { stdout: string; code: number | null } {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', `${cmd}`, '/dev/null'], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, NO_COLOR: '', ...env } });
  return { stdout: r.stdout.replace(/\r\n/g, '\n'), code: r.status };
}

describe('--show-secrets', () => {
  const file = cap('a12-plain-http-to-tls-port.pcap');
  const s = secretsOf(file);

  it('is refused when the output is piped or written with -o, and says so on stderr', async () => {
    const piped = await runCli(['analyze', file, '--ladder', '--show-secrets']);
    expect(piped.stderr).toMatch(/--show-secrets refused: the output goes to a pipe/);
    expect(piped.stdout).not.toContain(s.secret);
    expect(piped.stdout).not.toMatch(/SECRETS SHOWN/);
    const out = path.join(OUT, 'show-secrets.html');
    const toFile = await runCli(['analyze', file, '--format', 'html', '-o', out, '--show-secrets']);
    expect(toFile.stderr).toMatch(/--show-secrets refused: the output goes to the file/);
    expect(fs.readFileSync(out, 'utf8')).not.toContain(s.secret);
    const json = await runCli(['analyze', file, '--format', 'json', '--show-secrets']);
    expect(json.stdout).not.toContain(s.secret);
    expect(JSON.parse(json.stdout).secrets_shown).toBeUndefined();
  });

  it.skipIf(!haveScript)('colours on a terminal unless NO_COLOR or --no-color', () => {
    const a05 = cap('a05-port-closed-rst.pcap');
    expect(onTerminal(['analyze', a05], {}).stdout).toMatch(/\x1b\[/);
    expect(onTerminal(['analyze', a05], { NO_COLOR: '1' }).stdout).not.toMatch(/\x1b\[/);
    expect(onTerminal(['analyze', a05, '--no-color'], {}).stdout).not.toMatch(/\x1b\[/);
  });

  it.skipIf(!haveScript)('shows them on a terminal, with a line on top saying so', () => {
    const shown = onTerminal(['analyze', file, '--ladder', '--show-secrets']);
    expect(shown.code).toBe(11);
    expect(shown.stdout.split('\n')[0]).toMatch(/^SECRETS SHOWN \(--show-secrets\)/);
    expect(shown.stdout).toContain(s.secret.slice(0, 16)); // the ladder wraps it at the terminal's width
    // without the flag the terminal gets the redacted report
    const plain = onTerminal(['analyze', file, '--ladder']);
    expect(plain.stdout).not.toContain(s.secret);
    expect(plain.stdout).toContain('client_secret=***');
    const json = onTerminal(['analyze', file, '--format', 'json', '--show-secrets']);
    expect(JSON.parse(json.stdout).secrets_shown).toMatch(/not redacted/);
  });
});

// ---- --log: log lines as side notes on the ladders and a logs section (a vManage log built to align with a20)
const LOG_SECRETS = ['S3cr3tS3cr3tValue_abcdef', 'Pa55word%21', 'AbCdEfGhIjKlMnOp', 'd1b_ZV4QWs4UzB00_YYHz0Ek', 'jF6qntGFm429n2B7tlgJPNHu', 'CiscoLab%21234567', 'Carnation%2321'];
/** one refused sync as vManage logs it, at capture time t; `user` tells the syncs apart */
function vmanageSync(t: number, user: string): string[] {
  const uri = 'backend/oauth/token?grant_type=password&client_id=AbCdEfGhIjKlMnOp&client_secret=S3cr3tS3cr3tValue_abcdef&username=admin&password=Pa55word%21';
  const L = (dt: number, lvl: string, cls: string, msg: string) => `${vmStamp(t + dt)} ${lvl.padEnd(5)} [vm1] [${cls}] (default task-7) |default| ${msg}`;
  return [
    L(-0.005, 'INFO', 'SmartLicensingUtil', `URL ${uri}`),
    L(0.02, 'ERROR', 'RestAPIClient', `Failed to process POST request uri: ${uri} . Code: 403 Message: {"error":"invalid_client","error_message":"Grant not found."}`),
    L(0.021, 'ERROR', 'SmartLicensingUtil', `Failed to authenticate user - '${user}'.`),
  ];
}

describe('analyze --log --format html', () => {
  const logDir = fs.mkdtempSync(path.join(OUT, 'logs-'));
  async function withLogs() {
    const a = await analyzeCapture(cap('a20-retries-403-with-background.pcap'), { keylogBeside: false });
    const ends = a.connections.map((c) => Number(c.start) + c.duration);
    const file = path.join(logDir, 'vmanage-server.log');
    fs.writeFileSync(file, ends.flatMap((t, i) => vmanageSync(t - 0.0205, `u<${i}>&"x`)).join('\n') + '\n');
    const files = [await readLogFile(file), await readLogFile(path.join(ROOT, 'test', 'fixtures', 'logs', 'seed-pt-ssm-messages.log'))];
    return { a, file, rep: buildReport([a], '0.0.0-test', applyLogs([a], files)) };
  }

  it("draws each connection's log lines as notes among its arrows, and a logs section; redacted and escaped", async () => {
    const { a, rep } = await withLogs();
    const html = reportHtml(rep);
    // arrows unchanged: a note is no arrow
    const listed = rep.servers.flatMap((s) => rep.connections.filter((c) => s.connections.includes(c.id)));
    expect(listed.length).toBe(a.connections.length);
    expect(arrowsPerLadder(html)).toEqual(listed.map((c) => c.ladder!.length));
    // each ladder carries its own sync's three lines (the user's name tells which), after the steps before them
    for (const [i, c] of listed.entries()) {
      const m = new RegExp(`<div class="conn" id="conn-${c.id}">[\\s\\S]*?</svg>`).exec(html)![0];
      const notes = [...m.matchAll(/<g class="lognote"><title>([^<]*)<\/title>/g)].map((x) => x[1]!);
      expect(notes).toHaveLength(3);
      expect(notes.filter((t) => t.includes(`u&lt;${i}&gt;&amp;&quot;x`))).toHaveLength(1);
      expect(notes.some((t) => /^vmanage-server\.log:\d+, /.test(t))).toBe(true);
      for (const other of listed.keys()) if (other !== i) expect(m).not.toContain(`u&lt;${other}&gt;`);
      // the 403 line is written as the answer arrives: after the ladder's first steps, not before them
      const firstArrow = m.indexOf('<g class="arrow');
      const failed = m.indexOf('vmanage-server.log:' + c.log_events!.find((e) => e.kind === 'vmanage-request-failed')!.line + ' ');
      expect(firstArrow).toBeGreaterThan(0);
      expect(failed).toBeGreaterThan(firstArrow);
    }
    // the logs section: each log with its counts and offset, the findings from the seed, the timeline
    expect(html).toMatch(/<h2>Logs<\/h2>/);
    expect(html).toMatch(/vmanage-server\.log<\/td><td>vmanage-server<\/td><td>9<\/td><td>9<\/td><td>0<\/td>/);
    expect(html).toMatch(/seed-pt-ssm-messages\.log<\/td><td>ssm-syslog<\/td><td>16<\/td><td>6<\/td><td>10<\/td>/);
    expect(html).toMatch(/agrees \(\d+ request lines\)/);
    expect(html).toMatch(/class="log-finding"/);
    expect(html).toMatch(/<table class="timeline">[\s\S]*frame \d+ <a href="#conn-\d+">conn<\/a>[\s\S]*<tr class="lognote"><td class="mono">[\d:. -]+<\/td><td class="mono any">vmanage-server\.log:2/);
    // nothing raw: no secret of the built log or the seed, no markup from a log line
    for (const x of LOG_SECRETS) expect(html).not.toContain(x);
    expect(html).toContain('client_secret=***');
    expect(html).not.toMatch(/<script|u<\d>/);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  });

  it('bounds the timeline and the notes per ladder', async () => {
    const { rep } = await withLogs();
    const c = rep.connections[0]!;
    const e = c.log_events![0]!;
    c.log_events = Array.from({ length: 45 }, (_, k) => ({ ...e, line: 1000 + k, what: `<i>note ${k}</i>` }));
    rep.timeline = Array.from({ length: 450 }, (_, k) => ({ time: e.time, source: 'log' as const, kind: e.kind, text: `t${k}`, file: e.file, line: k }));
    const html = reportHtml(rep);
    const m = new RegExp(`<div class="conn" id="conn-${c.id}">[\\s\\S]*?</details>`).exec(html)![0];
    expect((m.match(/<g class="lognote">/g) ?? []).length).toBe(30);
    expect(m).toContain('... and 15 more log lines of this connection');
    expect(m).toContain('&lt;i&gt;note 0&lt;/i&gt;');
    expect((html.match(/<td class="any">t\d+<\/td>/g) ?? []).length).toBe(200);
    expect(html).toContain('... and 250 more');
  });

  it('--format html from the CLI with the seed logs; --ladder shows the log lines as side lines at their time', async () => {
    const { file, rep } = await withLogs();
    const out = path.join(OUT, 'a20-logs.html');
    const seeds = ['seed-pt-vmanage-server.log', 'seed-pt-ssm-messages.log', 'seed-zh-ssm-messages.log', 'seed-zh-vmanage-server-cut.log'].flatMap((n) => ['--log', path.join(ROOT, 'test', 'fixtures', 'logs', n)]);
    const r = await runCli(['analyze', cap('a20-retries-403-with-background.pcap'), '--log', file, ...seeds, '--format', 'html', '-o', out]);
    expect(r.stderr).toBe('');
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/<g class="lognote">/);
    expect(html).not.toMatch(/<script/i);
    for (const x of LOG_SECRETS) expect(html).not.toContain(x);
    const cli = await runCli(['analyze', cap('a20-retries-403-with-background.pcap'), '--log', file, '--ladder']);
    for (const [width, text] of [[80, cli.stdout], [60, reportText(rep, { ladder: true, width: 60 })], [120, reportText(rep, { ladder: true, width: 120 })]] as const) {
      const lines = text.split('\n');
      const notes = lines.filter((l) => /^\s+log +-?\d+\.\d{6}  [|*]/.test(l));
      expect(notes.length, text).toBe(9);
      expect(notes.filter((l) => /^\s+log +-?\d+\.\d{6}  \*/.test(l)).length).toBe(9); // vManage: the client's lifeline
      // the ladders' lines, their notes among them, fit the width (the CLI indents them by 4 columns)
      for (const l of lines.filter((x) => /^\s+(log +-?|\d+ +)\d+\.\d{6}  /.test(x))) expect(l.length, l).toBeLessThanOrEqual(width);
      expect(lines.some((l) => /\* vmanage-server\.log:\d+ vManage: /.test(l))).toBe(true);
      if (width >= 120) expect(lines.some((l) => /\* vmanage-server\.log:\d+ vManage: POST oauth\/token failed, answered 403/.test(l))).toBe(true);
      for (const x of LOG_SECRETS) expect(text).not.toContain(x);
    }
  });
});

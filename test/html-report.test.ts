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
import { buildReport, reportText } from '../src/report/analysis.js';
import { reportHtml } from '../src/report/html.js';
import { CLI, ROOT, runCli } from './helpers/cli.js';

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

/**
 * The HTML report in a real browser (Debian's chromium, headless, no network): what a person sees on a
 * phone-sized screen. Banner text, one drawn arrow per ladder step, nothing wider than 400 px, nothing
 * fetched; a PNG screenshot of each under test/output/. Skipped, with a message, where chromium is not
 * installed (.ci/run installs it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { ROOT, runCli } from './helpers/cli.js';
import { analyzeJsonHere } from './helpers/report.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM) console.warn('html-browser: chromium is not installed: skipping the browser checks of the HTML report (.ci/run installs it)');

const OUT = path.join(ROOT, 'test', 'output');

const CASES = [
  { name: 'a05-port-closed-rst.pcap', banner: /^TRANSPORT \(refused\)/ },
  { name: 'a07-icmp-admin-prohibited.pcap', banner: /^TRANSPORT \(icmp-unreachable\)/ },
  { name: 'a23-routed-icmp-host-unreachable.pcap', banner: /^TRANSPORT \(icmp-unreachable\).*127\.10\.1\.1/ },
  // without its key log the 403 invalid_client answer is encrypted: the refusal is inferred
  { name: 'a03-auth-403-invalid-client-tls12.pcap', banner: /^APPLICATION \((auth-rejected|invalid-client)\)/ },
  { name: 'a17-proxy-tunnel-auth-403.pcap', banner: /^APPLICATION \((auth-rejected|invalid-client)\)/ },
  { name: 'a16-proxy-407.pcap', banner: /^TRANSPORT \(proxy-auth-required\)/ },
];

interface Seen {
  banner: string;
  bannerColour: string;
  arrows: number[];
  notes: number;
  outside: number;
  scrollWidth: number;
  scripts: number;
  text: string;
}

/** what a person sees, read in the page (a string: the tests are type-checked without the DOM library) */
const SEEN = `(() => {
  const vis = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const ladders = [...document.querySelectorAll('svg.ladder')];
  return {
    banner: document.getElementById('verdict').innerText.replace(/\\s+/g, ' '),
    bannerColour: getComputedStyle(document.getElementById('verdict')).backgroundColor,
    arrows: ladders.map((l) => [...l.querySelectorAll('g.arrow')].filter(vis).length),
    notes: [...document.querySelectorAll('g.lognote')].filter(vis).length,
    // an arrow (or a log note) drawn outside the screen would be no use on a phone
    outside: [...document.querySelectorAll('g.arrow, g.lognote')].filter((a) => { const r = a.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth; }).length,
    scrollWidth: document.documentElement.scrollWidth,
    scripts: document.scripts.length,
    text: document.body.innerText,
  };
})()`;

describe.skipIf(!CHROMIUM)('the HTML report in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // no sandbox (CI runs as root); no network: any request the page makes would fail and is counted below
      args: ['--no-sandbox', '--disable-gpu', '--proxy-server=127.0.0.1:9', '--host-resolver-rules=MAP * ~NOTFOUND', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it.each(CASES)('$name: banner, one arrow per ladder step, fits 400 px, fetches nothing', async ({ name, banner }) => {
    const cap = path.join(ROOT, 'captures', name);
    const html = path.join(OUT, `${name}.html`);
    await runCli(['analyze', cap, '--format', 'html', '-o', html]);
    const json = JSON.parse(await analyzeJsonHere([cap])) as { servers: { connections: number[] }[]; connections: { id: number; ladder: unknown[] }[] };
    // the ladders in the order the report draws them: per server, its listed connections
    const expected = json.servers.flatMap((s) => json.connections.filter((c) => s.connections.includes(c.id)).map((c) => c.ladder.length));

    const page = await browser.newPage();
    const requests: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (req.url() !== `file://${html}`) requests.push(req.url());
      if (req.url().startsWith('file://')) void req.continue();
      else void req.abort();
    });
    await page.setViewport({ width: 400, height: 800, deviceScaleFactor: 1 });
    await page.goto(`file://${html}`, { waitUntil: 'load' });
    const seen = (await page.evaluate(SEEN)) as Seen;
    await page.screenshot({ path: path.join(OUT, `html-${name.replace(/\.pcap$/, '')}.png`) as `${string}.png`, fullPage: true });
    await page.close();

    expect(seen.banner).toMatch(banner);
    expect(seen.bannerColour).not.toBe('rgba(0, 0, 0, 0)');
    expect(seen.arrows).toEqual(expected);
    expect(expected.every((n) => n > 0)).toBe(true);
    expect(seen.outside).toBe(0);
    expect(seen.scrollWidth).toBeLessThanOrEqual(400);
    expect(seen.scripts).toBe(0);
    expect(requests).toEqual([]);
    expect(seen.text).toMatch(/Next step:/);
    expect(seen.text).toMatch(/checksum offload/);
  }, 60_000);

  it('a20 with --log: log notes on the ladders and the logs section still fit 400 px, no secret shown', async () => {
    const cap = path.join(ROOT, 'captures', 'a20-retries-403-with-background.pcap');
    const json = JSON.parse(await analyzeJsonHere([cap])) as { servers: { connections: number[] }[]; connections: { id: number; start: string; duration: number; ladder: unknown[] }[] };
    // vManage's lines of each refused sync, stamped (UTC) as the answer arrives; the long token URI has no space to wrap at
    const uri = 'backend/oauth/token?grant_type=password&client_id=AbCdEfGhIjKlMnOp&client_secret=S3cr3tS3cr3tValue_abcdef&username=admin&password=Pa55word%21';
    const stamp = (t: number) => new Date(Math.round(t * 1000)).toISOString().replace(/^(\d+)-(\d+)-(\d+)T([\d:]+)\.(\d+)Z$/, (_m, y, mo, d, hms, ms) => `${d}-${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][Number(mo) - 1]}-${y} ${hms},${ms} UTC`);
    const lines = json.connections.flatMap((c) => {
      const t = Number(c.start) + c.duration;
      return [
        `${stamp(t - 0.02)} INFO  [vm1] [SmartLicensingUtil] (default task-7) |default| URL ${uri}`,
        `${stamp(t)} ERROR [vm1] [RestAPIClient] (default task-7) |default| Failed to process POST request uri: ${uri} . Code: 403 Message: {"error":"invalid_client","error_message":"Grant not found."}`,
      ];
    });
    const log = path.join(OUT, 'browser-vmanage-server.log');
    fs.writeFileSync(log, lines.join('\n') + '\n');
    const html = path.join(OUT, 'a20-with-logs.html');
    const seed = path.join(ROOT, 'test', 'fixtures', 'logs', 'seed-pt-ssm-messages.log');
    await runCli(['analyze', cap, '--log', log, '--log', seed, '--format', 'html', '-o', html]);
    const expected = json.servers.flatMap((s) => json.connections.filter((c) => s.connections.includes(c.id)).map((c) => c.ladder.length));
    const page = await browser.newPage();
    await page.setViewport({ width: 400, height: 800, deviceScaleFactor: 1 });
    await page.goto(`file://${html}`, { waitUntil: 'load' });
    const seen = (await page.evaluate(SEEN)) as Seen;
    await page.screenshot({ path: path.join(OUT, 'html-a20-with-logs.png'), fullPage: true });
    await page.close();
    expect(seen.arrows).toEqual(expected);
    expect(seen.notes).toBe(lines.length);
    expect(seen.outside).toBe(0);
    expect(seen.scrollWidth).toBeLessThanOrEqual(400);
    expect(seen.scripts).toBe(0);
    expect(seen.text).toMatch(/Logs[\s\S]*Timeline/);
    for (const x of ['S3cr3tS3cr3tValue', 'Pa55word', 'AbCdEfGhIjKlMnOp', 'd1b_ZV4QWs4UzB00', 'CiscoLab%21']) expect(seen.text).not.toContain(x);
  }, 60_000);
});

/**
 * Directories and many files: analysed in parallel worker threads, merged in the order a serial run gives;
 * bad files are inputs with their error and do not stop the others; tcpdump text counts as an input unless
 * it lies beside the capture it was printed from; the table across inputs; the progress bar.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress } from '../src/report/progress.js';
import { ROOT, runCli } from './helpers/cli.js';

const cap = (n: string) => path.join(ROOT, 'captures', n);
let dir = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-many-'));
  const box = (name: string) => {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    return path.join(dir, name);
  };
  // vmanage-1: a capture and the tcpdump text printed from it (skipped), a key log and notes (skipped)
  fs.copyFileSync(cap('a03-auth-403-invalid-client-tls12.pcap'), path.join(box('vmanage-1'), 'eth0.pcap'));
  fs.copyFileSync(cap('a03-auth-403-invalid-client-tls12.pcap.tcpdump.txt'), path.join(dir, 'vmanage-1', 'eth0.tcpdump.txt'));
  fs.copyFileSync(cap('a03-auth-403-invalid-client-tls12.pcap.keys'), path.join(dir, 'vmanage-1', 'eth0.keys'));
  fs.writeFileSync(path.join(dir, 'vmanage-1', 'notes.md'), '# box 1\nlicense sync fails since Monday\n');
  // vmanage-2: only the CLI's printout (no capture beside it): an input
  fs.copyFileSync(cap('a05-port-closed-rst.pcap.tcpdump.txt'), path.join(box('vmanage-2'), 'cli-output.txt'));
  // vmanage-3: a healthy capture, gzip-compressed under a name that does not say so
  fs.writeFileSync(path.join(box('vmanage-3'), 'capture'), gzipSync(fs.readFileSync(cap('a01-healthy-tls12.pcap'))));
  // vmanage-4: a file named like a capture that is none, and a capture cut mid-record
  fs.writeFileSync(path.join(box('vmanage-4'), 'broken.pcapng'), 'this is not a capture at all');
  const whole = fs.readFileSync(cap('a10-tls-untrusted-ca-tls12.pcap'));
  fs.writeFileSync(path.join(dir, 'vmanage-4', 'cut.pcap'), whole.subarray(0, whole.length - 10));
}, 30_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('analyze DIR/ more.pcap', () => {
  it('reads in parallel to exactly the report a serial run gives, in input order', async () => {
    const args = ['analyze', dir, cap('a06-syn-dropped-filtered.pcap'), '--format', 'json'];
    const [par, ser] = await Promise.all([runCli(args), runCli([...args, '--jobs', '1'])]);
    expect(par.stdout).toBe(ser.stdout);
    expect(par.code).toBe(ser.code);
    const r = JSON.parse(par.stdout);
    expect(r.inputs.map((i: { path: string }) => path.relative(dir, i.path))).toEqual([
      path.join('vmanage-1', 'eth0.pcap'),
      path.join('vmanage-2', 'cli-output.txt'),
      path.join('vmanage-3', 'capture'),
      path.join('vmanage-4', 'broken.pcapng'),
      path.join('vmanage-4', 'cut.pcap'),
      path.relative(dir, cap('a06-syn-dropped-filtered.pcap')),
    ]);
    // the path as given plus the path inside the directory
    expect(r.inputs[0]).toMatchObject({ directory: dir, path_in_directory: path.join('vmanage-1', 'eth0.pcap') });
    expect(r.inputs[5].directory).toBeUndefined();
    expect(r.inputs[1].format).toBe('tcpdump-text');
    // one bad file is an input with its error; the others are read
    expect(r.inputs[3]).toMatchObject({ readable: false, error: { code: 'bad-magic' } });
    expect(r.inputs[4]).toMatchObject({ readable: true, error: { code: 'truncated' } });
    expect(r.skipped).toEqual({ files: 2, text_beside_capture: [{ text: path.join(dir, 'vmanage-1', 'eth0.tcpdump.txt'), capture: path.join(dir, 'vmanage-1', 'eth0.pcap') }] });
    const verdicts = Object.fromEntries(r.servers.map((s: { input: string; reason: string }) => [path.basename(s.input), s.reason]));
    expect(verdicts).toEqual({ 'eth0.pcap': 'auth-rejected', 'cli-output.txt': 'refused', capture: 'ok', 'cut.pcap': 'untrusted-certificate', 'a06-syn-dropped-filtered.pcap': 'no-response' });
    expect(r.verdict).toBe('transport');
    expect(par.code).toBe(10);
    // each bad file has its one error line; the text beside its capture is noted
    const lines = par.stderr.trim().split('\n');
    expect(lines.filter((l) => l.includes('broken.pcapng: byte 0:'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('cut.pcap: byte'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('eth0.tcpdump.txt: tcpdump text of'))).toHaveLength(1);
    expect(lines).toHaveLength(3);
  }, 60_000);

  it('prints a table across inputs: input, packets, verdict, reason, servers, aligned', async () => {
    const r = await runCli(['analyze', dir]);
    const lines = r.stdout.split('\n');
    const h = lines.findIndex((l) => /^\s+INPUT\s+PACKETS\s+VERDICT\s+REASON\s+SERVERS$/.test(l));
    expect(h).toBeGreaterThan(0);
    const rows = lines.slice(h + 1, h + 6);
    const col = (name: string) => lines[h]!.indexOf(name);
    const expected = [
      ['vmanage-1/eth0.pcap', '14', 'application', 'auth-rejected'],
      ['vmanage-2/cli-output.txt', '2', 'transport', 'refused'],
      ['vmanage-3/capture', '20', 'healthy', 'ok'],
      ['vmanage-4/broken.pcapng', '0', 'unreadable', 'bad-magic'],
      ['vmanage-4/cut.pcap', '8', 'tls', 'untrusted-certificate'],
    ];
    rows.forEach((row, i) => {
      const [name, packets, verdict, reason] = expected[i]!;
      expect(row.slice(col('INPUT')).startsWith(name!), row).toBe(true);
      // packets right-aligned under its header, the other columns starting where their header starts
      expect(row.slice(0, col('PACKETS') + 'PACKETS'.length).trimEnd().endsWith(` ${packets}`), row).toBe(true);
      expect(row.slice(col('VERDICT')).startsWith(verdict!), row).toBe(true);
      expect(row.slice(col('REASON')).startsWith(reason!), row).toBe(true);
    });
    expect(rows[0]!.slice(col('SERVERS'))).toBe('127.0.0.55:8443 application/auth-rejected');
    expect(r.stdout).toMatch(/skipped: 2 files that are not captures, 1 tcpdump text beside the capture printed from/);
  }, 60_000);

  it('--format ndjson: every connection line, server lines in input order, the summary last', async () => {
    const [r, j] = await Promise.all([runCli(['analyze', dir, '--format', 'ndjson']), runCli(['analyze', dir, '--format', 'json'])]);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.at(-1).type).toBe('summary');
    const servers = recs.filter((x) => x.type === 'server').map((x) => path.relative(dir, x.input));
    expect(servers).toEqual([path.join('vmanage-1', 'eth0.pcap'), path.join('vmanage-2', 'cli-output.txt'), path.join('vmanage-3', 'capture'), path.join('vmanage-4', 'cut.pcap')]);
    const conns = recs.filter((x) => x.type === 'connection');
    const json = JSON.parse(j.stdout);
    expect(conns.length).toBe(json.connections.length);
    expect(new Set(conns.map((c) => `${c.input}#${c.id}`))).toEqual(new Set(json.connections.map((c: { input: string; id: number }) => `${c.input}#${c.id}`)));
  }, 60_000);

  it('no progress bar when stderr is not a terminal', async () => {
    const r = await runCli(['analyze', cap('a05-port-closed-rst.pcap'), cap('a06-syn-dropped-filtered.pcap')]);
    expect(r.stderr).toBe('');
  });
});

describe('progress bar', () => {
  class FakeTty extends Writable {
    isTTY = true;
    columns = 120;
    text = '';
    override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
      this.text += c.toString();
      cb();
    }
    cursorTo(_x: number, _y?: number, cb?: () => void): boolean {
      cb?.();
      return true;
    }
    clearLine(_d: number, cb?: () => void): boolean {
      cb?.();
      return true;
    }
    moveCursor(_x: number, _y: number, cb?: () => void): boolean {
      cb?.();
      return true;
    }
  }

  it('shows bytes of the total and packets/s on a terminal when the work is large', async () => {
    const tty = new FakeTty();
    const p = createProgress([3_000_000, 1_000_000], { stream: tty as unknown as NodeJS.WriteStream, minBytes: 1 });
    p.update(0, 1_500_000, 1000);
    p.done(1, 700);
    await new Promise((r) => setTimeout(r, 300));
    p.update(0, 2_000_000, 1500);
    p.stop();
    expect(tty.text).toMatch(/MB\/s/);
    expect(tty.text).toMatch(/packets\/s/);
    expect(tty.text).toMatch(/\/4 MB/);
  });

  it('is silent when not a terminal, with --quiet, or when the work is small', () => {
    const tty = new FakeTty();
    createProgress([1 << 30], { stream: tty as unknown as NodeJS.WriteStream, quiet: true }).update(0, 10, 1);
    createProgress([1000], { stream: tty as unknown as NodeJS.WriteStream }).update(0, 10, 1);
    const pipe = new FakeTty();
    pipe.isTTY = false;
    createProgress([1 << 30], { stream: pipe as unknown as NodeJS.WriteStream }).update(0, 10, 1);
    expect(tty.text + pipe.text).toBe('');
  });
});

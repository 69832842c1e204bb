/**
 * `npm run bench`: throughput and peak memory of ssmcap against the floor (a bare record walk in Node) and
 * against tshark and tcpdump, on a deterministic synthetic capture (see generate.ts). Each measurement runs
 * in its own child process so its peak RSS is its own: under GNU `/usr/bin/time -v` when present, else
 * from the child's own resourceUsage() (node runs) or by polling VmHWM in /proc (tshark, tcpdump).
 *
 *   npm run bench                      1M packets (about 630 MB), all runs
 *   npm run bench -- --packets N       another size
 *   npm run bench -- --size 2G         also the RSS flatness check: decode on 100 MB and on 2 GB
 *   npm run bench -- --quick           100k packets, tshark on a short prefix
 *
 * Internal: `bench.js --child walk|decode|decode-streams FILE` is one measured node run; it prints one JSON line
 * (decode: readCapture + Decoder.decode with checksums; decode-streams: the same plus tcp.stream).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decoder } from '../decode/packet.js';
import { TcpStreamIndex } from '../flow/stream-index.js';
import { readCapture } from '../input/reader.js';
import { GENERATOR_VERSION, writeSyntheticCapture, type SyntheticSummary } from './generate.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const DATA = path.join(ROOT, 'bench-data');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SELF = fileURLToPath(import.meta.url);
const TIME = '/usr/bin/time';
/** the tshark run is cut to a prefix of the file when it would take longer than this */
const TSHARK_BUDGET_S = 60;

/** the fields asked of tshark: the core of what `ssmcap packets` prints (it prints ~65 fields per frame) */
export const TSHARK_FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'ip.src',
  'ip.dst',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq',
  'tcp.ack',
  'tcp.flags',
  'tcp.len',
  'tcp.checksum.status',
  'tcp.stream',
];

// ---------------------------------------------------------------- child runs

interface ChildResult {
  packets: number;
  seconds: number;
  /** KiB, from the child itself */
  maxRssKiB: number;
  check: number;
}

/** the floor: read 1 MiB chunks and step over the 16-byte record headers, nothing else */
function bareWalk(file: string): { packets: number; check: number } {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe((1 << 20) + 262144 + 16);
  let have = 0;
  let pos = 24; // file header
  let packets = 0;
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, have, 1 << 20, null);
      if (n === 0) break;
      have += n;
      while (have - pos >= 16) {
        const incl = buf.readUInt32LE(pos + 8);
        if (have - pos - 16 < incl) break;
        packets++;
        bytes += incl;
        pos += 16 + incl;
      }
      buf.copyWithin(0, pos, have);
      have -= pos;
      pos = 0;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { packets, check: bytes };
}

/**
 * readCapture + Decoder.decode (checksums included) per frame, no output: the target row; with
 * `streams`, tcp.stream per TCP frame too (what `ssmcap packets` needs before any output)
 */
async function decodeRun(file: string, streams: TcpStreamIndex | null): Promise<{ packets: number; check: number }> {
  const decoder = new Decoder();
  let packets = 0;
  let check = 0;
  await readCapture(file, (frame) => {
    const p = decoder.decode(frame);
    packets++;
    if (p.isTcp) {
      // read what the decode produced, so that none of it can be skipped
      check += streams ? streams.index(p) : p.srcPort + p.tcpLen;
      if (p.tcpChecksumStatus === 'good') check++;
    }
  });
  return { packets, check };
}

async function child(kind: string, file: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  const r = kind === 'walk' ? bareWalk(file) : kind === 'decode' ? await decodeRun(file, null) : kind === 'decode-streams' ? await decodeRun(file, new TcpStreamIndex()) : null;
  if (!r) throw new Error(`unknown child run ${kind}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out: ChildResult = { packets: r.packets, seconds, maxRssKiB: process.resourceUsage().maxRSS, check: r.check };
  process.stdout.write(JSON.stringify(out) + '\n');
}

// ---------------------------------------------------------------- measuring a process

interface Measured {
  name: string;
  file: string;
  packets: number;
  bytes: number;
  seconds: number;
  rssMiB: number;
  note: string;
}

const hasTime = fs.existsSync(TIME) && spawnSync(TIME, ['-v', 'true'], { stdio: 'ignore' }).status === 0;

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

interface ProcRun {
  wallSeconds: number;
  rssKiB: number;
  stdout: string;
  code: number | null;
  stderr: string;
}

/** run a command with stdout to /dev/null (or captured), measuring wall time and peak RSS */
function runProcess(argv: string[], captureStdout: boolean): Promise<ProcRun> {
  const statFile = path.join(os.tmpdir(), `ssmcap-bench-time-${process.pid}-${Date.now()}`);
  const cmd = hasTime ? [TIME, '-v', '-o', statFile, ...argv] : argv;
  const devnull = captureStdout ? 'pipe' : fs.openSync('/dev/null', 'w');
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const proc = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', devnull, 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 8192) stderr += d.toString();
    });
    // without GNU time: poll the child's high-water mark (VmHWM survives until it exits)
    const poll = hasTime
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {
            // exited
          }
        }, 20);
    proc.on('error', reject);
    proc.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (poll) clearInterval(poll);
      if (typeof devnull === 'number') fs.closeSync(devnull);
      let rssKiB = hwm;
      if (hasTime) {
        try {
          const stats = fs.readFileSync(statFile, 'utf8');
          fs.unlinkSync(statFile);
          const m = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(stats);
          if (m) rssKiB = Number(m[1]);
        } catch {
          // no stats: keep the polled value
        }
      }
      resolve({ wallSeconds, rssKiB, stdout, code, stderr });
    });
  });
}

async function measureNode(name: string, kind: 'walk' | 'decode' | 'decode-streams', file: string, bytes: number): Promise<Measured> {
  const r = await runProcess([process.execPath, SELF, '--child', kind, file], true);
  if (r.code !== 0) throw new Error(`${name} failed (exit ${r.code}): ${r.stderr}`);
  const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
  const rss = r.rssKiB || c.maxRssKiB;
  return { name, file, packets: c.packets, bytes, seconds: c.seconds, rssMiB: rss / 1024, note: 'loop time inside the process' };
}

async function measureCommand(name: string, argv: string[], file: string, packets: number, bytes: number, note: string, okCodes: number[] = [0]): Promise<Measured> {
  const r = await runProcess(argv, false);
  if (r.code === null || !okCodes.includes(r.code)) throw new Error(`${name} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return { name, file, packets, bytes, seconds: r.wallSeconds, rssMiB: r.rssKiB / 1024, note };
}

/**
 * A slow reference tool (tshark): calibrated on a 20k-packet prefix, then run on the whole file, or on
 * the prefix that fits the time budget (rates are per packet and per byte, so a prefix compares).
 */
async function measureSlow(name: string, argsOf: (f: string) => string[], file: string, summary: { packets: number; bytes: number }, quick: boolean, notes: string[]): Promise<Measured> {
  const cal = writePrefix(file, Math.min(summary.packets, 20_000));
  log(`${name}: calibration on ${cal.packets} packets ...`);
  const c = await measureCommand(`${name} (calibration)`, argsOf(cal.path), cal.path, cal.packets, cal.bytes, '');
  const estimate = summary.packets / rate(c);
  let target = { path: file, packets: summary.packets, bytes: summary.bytes };
  if (estimate > TSHARK_BUDGET_S || quick) {
    const n = Math.min(summary.packets, Math.max(cal.packets, Math.floor(rate(c) * (quick ? 5 : TSHARK_BUDGET_S / 2))));
    target = n === cal.packets ? cal : writePrefix(file, n);
    notes.push(`${name}: estimated ${estimate.toFixed(0)} s for the whole file, so run on its first ${target.packets} packets (${mb(target.bytes)} MB); rates are per packet and per byte of that prefix`);
  }
  log(`${name} on ${target.packets} packets ...`);
  const m = await measureCommand(target.packets === summary.packets ? name : `${name}, prefix`, argsOf(target.path), target.path, target.packets, target.bytes, 'wall time');
  for (const f of [cal.path, target.path]) if (f !== file) fs.rmSync(f, { force: true });
  return m;
}

// ---------------------------------------------------------------- capture files

interface BenchFile {
  path: string;
  summary: SyntheticSummary;
}

/** generate (or reuse) the synthetic capture for these parameters */
async function ensureCapture(opts: { packets?: number; bytes?: number; seed: number }): Promise<BenchFile> {
  fs.mkdirSync(DATA, { recursive: true });
  const size = opts.packets !== undefined ? `p${opts.packets}` : `b${opts.bytes}`;
  const file = path.join(DATA, `synthetic-v${GENERATOR_VERSION}-seed${opts.seed}-${size}.pcap`);
  const meta = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(meta)) {
    const summary = JSON.parse(fs.readFileSync(meta, 'utf8')) as SyntheticSummary;
    if (fs.statSync(file).size === summary.bytes) {
      log(`reusing ${path.relative(ROOT, file)} (${summary.packets} packets, ${mb(summary.bytes)} MB)`);
      return { path: file, summary };
    }
  }
  log(`generating ${path.relative(ROOT, file)} ...`);
  const t0 = Date.now();
  const summary = await writeSyntheticCapture(file, opts);
  fs.writeFileSync(meta, JSON.stringify(summary, null, 2) + '\n');
  log(`  ${summary.packets} packets, ${mb(summary.bytes)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { path: file, summary };
}

/** copy the first `packets` records of a pcap into another file (a prefix for the slow tools) */
function writePrefix(src: string, packets: number): { path: string; packets: number; bytes: number } {
  const dst = src.replace(/\.pcap$/, `-prefix${packets}.pcap`);
  const fd = fs.openSync(src, 'r');
  const out = fs.openSync(dst, 'w');
  const buf = Buffer.allocUnsafe((1 << 20) + 262144 + 16);
  let have = 0;
  let pos = 24;
  let n = 0;
  let bytes = 0;
  try {
    while (n < packets) {
      const got = fs.readSync(fd, buf, have, 1 << 20, null);
      if (got === 0) break;
      have += got;
      while (n < packets && have - pos >= 16) {
        const incl = buf.readUInt32LE(pos + 8);
        if (have - pos - 16 < incl) break;
        pos += 16 + incl;
        n++;
      }
      fs.writeSync(out, buf, 0, pos);
      bytes += pos;
      buf.copyWithin(0, pos, have);
      have -= pos;
      pos = 0;
    }
  } finally {
    fs.closeSync(fd);
    fs.closeSync(out);
  }
  return { path: dst, packets: n, bytes };
}

// ---------------------------------------------------------------- output

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
function log(s: string): void {
  process.stderr.write(s + '\n');
}

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

function table(rows: Measured[]): string {
  const head = ['run', 'packets', 'seconds', 'packets/s', 'MB/s', 'peak RSS MiB'];
  const body = rows.map((r) => [
    r.name,
    String(r.packets),
    r.seconds.toFixed(2),
    fmtRate(r.packets / r.seconds),
    (r.bytes / 1e6 / r.seconds).toFixed(0),
    r.rssMiB.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const rate = (m: Measured) => m.packets / m.seconds;

// ---------------------------------------------------------------- main

interface Args {
  packets: number;
  sizeBytes: number | null;
  quick: boolean;
  seed: number;
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s} (e.g. 100M, 2G)`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { packets: 1_000_000, sizeBytes: null, quick: false, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--packets') a.packets = Number(v());
    else if (k === '--size') a.sizeBytes = parseSize(v());
    else if (k === '--quick') a.quick = true;
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--help' || k === '-h') {
      process.stdout.write('usage: npm run bench -- [--packets N] [--size 2G] [--quick] [--seed N]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${k} (see --help)`);
  }
  if (a.quick && !argv.includes('--packets')) a.packets = 100_000;
  if (!Number.isInteger(a.packets) || a.packets < 1) throw new Error('--packets must be a positive integer');
  return a;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return child(argv[1]!, argv[2]!);
  const args = parseArgs(argv);
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p tsconfig.build.json)`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  log(`ssmcap bench: node ${process.version}, ${cpu}, ${os.cpus().length} CPUs, ${hasTime ? 'peak RSS from /usr/bin/time -v' : 'peak RSS from resourceUsage / VmHWM'}`);

  const big = await ensureCapture({ packets: args.packets, seed: args.seed });
  const { path: file, summary } = big;
  const rows: Measured[] = [];
  const notes: string[] = [];

  // twice, keeping the faster: the first may be the one that brings the file into the page cache
  log('bare walk ...');
  const walk1 = await measureNode('bare record walk (node)', 'walk', file, summary.bytes);
  const walk2 = await measureNode('bare record walk (node)', 'walk', file, summary.bytes);
  const walk = walk2.seconds < walk1.seconds ? walk2 : walk1;
  rows.push(walk);
  if (walk.packets !== summary.packets) throw new Error(`walk saw ${walk.packets} packets, the file holds ${summary.packets}`);

  log('decode + checksums ...');
  const dec = await measureNode('decode + checksums', 'decode', file, summary.bytes);
  rows.push(dec);
  log('decode + checksums + tcp.stream ...');
  const decStreams = await measureNode('decode + checksums + tcp.stream', 'decode-streams', file, summary.bytes);
  rows.push(decStreams);

  log('ssmcap packets (NDJSON) ...');
  const pk = await measureCommand('ssmcap packets --format ndjson', [process.execPath, CLI, 'packets', file, '--format', 'ndjson'], file, summary.packets, summary.bytes, 'wall time');
  rows.push(pk);

  log('ssmcap packets (NDJSON, the 12 tshark fields) ...');
  const pk12 = await measureCommand(
    'ssmcap packets ndjson -e (12 fields)',
    [process.execPath, CLI, 'packets', file, '--format', 'ndjson', ...TSHARK_FIELDS.flatMap((e) => ['-e', e])],
    file,
    summary.packets,
    summary.bytes,
    'wall time',
  );
  rows.push(pk12);

  let tsharkRow: Measured | null = null;
  const tshark = which('tshark');
  if (!tshark) notes.push('tshark: not installed, skipped');
  else {
    const tsharkArgs = (f: string) => [tshark, '-n', '-r', f, '-T', 'fields', ...TSHARK_FIELDS.flatMap((e) => ['-e', e])];
    tsharkRow = await measureSlow('tshark -T fields (12 fields)', tsharkArgs, file, summary, args.quick, notes);
    rows.push(tsharkRow);
  }

  // analyze: the whole diagnosis (flows, reassembly, TLS, verdicts) beside tshark's TCP conversation table
  log('ssmcap analyze ...');
  const ANALYZE_EXITS = [0, 10, 11, 12, 13];
  // one thread, and the flows shared by two worker threads (--jobs 2; the default from 4 cores on)
  const an = await measureCommand('ssmcap analyze --format json --jobs 1 (one thread)', [process.execPath, CLI, 'analyze', file, '--format', 'json', '--jobs', '1'], file, summary.packets, summary.bytes, 'wall time', ANALYZE_EXITS);
  rows.push(an);
  log('ssmcap analyze --jobs 2 ...');
  const an2 = await measureCommand('ssmcap analyze --format json --jobs 2 (flows shared by two worker threads)', [process.execPath, CLI, 'analyze', file, '--format', 'json', '--jobs', '2'], file, summary.packets, summary.bytes, 'wall time', ANALYZE_EXITS);
  rows.push(an2);
  let convRow: Measured | null = null;
  if (tshark) {
    const convArgs = (f: string) => [tshark, '-n', '-q', '-r', f, '-z', 'conv,tcp'];
    convRow = await measureSlow('tshark -q -z conv,tcp', convArgs, file, summary, args.quick, notes);
    rows.push(convRow);
  }

  const tcpdump = which('tcpdump');
  if (!tcpdump) notes.push('tcpdump: not installed, skipped');
  else {
    log('tcpdump -nn -r ...');
    rows.push(await measureCommand('tcpdump -nn -r', [tcpdump, '-nn', '-r', file], file, summary.packets, summary.bytes, 'wall time'));
  }

  // flatness: decode at two file sizes
  const flat: Measured[] = [];
  if (args.sizeBytes) {
    for (const bytes of [100e6, args.sizeBytes]) {
      const f = await ensureCapture({ bytes, seed: args.seed });
      log(`decode on ${mb(f.summary.bytes)} MB ...`);
      const m = await measureNode(`decode, ${mb(f.summary.bytes)} MB file`, 'decode-streams', f.path, f.summary.bytes);
      flat.push(m);
    }
    for (const bytes of [100e6, args.sizeBytes]) {
      const f = await ensureCapture({ bytes, seed: args.seed });
      log(`ssmcap analyze on ${mb(f.summary.bytes)} MB ...`);
      flat.push(await measureCommand(`analyze, ${mb(f.summary.bytes)} MB file`, [process.execPath, CLI, 'analyze', f.path, '--format', 'json'], f.path, f.summary.packets, f.summary.bytes, 'wall time', [0, 10, 11, 12, 13]));
    }
    for (const bytes of [100e6, args.sizeBytes]) {
      const f = await ensureCapture({ bytes, seed: args.seed });
      log(`ssmcap packets on ${mb(f.summary.bytes)} MB ...`);
      flat.push(
        await measureCommand(`packets ndjson, ${mb(f.summary.bytes)} MB file`, [process.execPath, CLI, 'packets', f.path, '--format', 'ndjson'], f.path, f.summary.packets, f.summary.bytes, 'wall time'),
      );
    }
  }

  const s = summary;
  const out: string[] = [];
  out.push(`ssmcap bench — node ${process.version}, ${cpu}, ${os.cpus().length} CPUs`);
  out.push(
    `capture: ${path.relative(ROOT, file)}: ${s.packets} packets, ${mb(s.bytes)} MB; ${s.connections8443} TCP connections to 8443, ${s.connectionsOther} other; ` +
      `${s.udp} UDP, ${s.icmp} ICMP, ${s.ipv6} IPv6, ${s.vlan} VLAN-tagged; ${s.tcpOffload} TCP segments with the offload checksum pattern`,
  );
  out.push('');
  out.push(table(rows));
  out.push('');
  out.push(`decode + checksums vs bare walk: ${(walk.seconds / dec.seconds).toFixed(2)}x the walk's rate (${(dec.seconds / walk.seconds).toFixed(2)}x its time; target: within 2x)`);
  if (tsharkRow) {
    out.push(`ssmcap packets (all fields) vs tshark -T fields: ${(rate(pk) / rate(tsharkRow)).toFixed(1)}x packets/s (target: >= 15x)`);
    out.push(`ssmcap packets (the same 12 fields) vs tshark -T fields: ${(rate(pk12) / rate(tsharkRow)).toFixed(1)}x packets/s`);
  }
  out.push(`ssmcap analyze vs bare walk: ${(an.seconds / walk.seconds).toFixed(1)}x its time, --jobs 2 ${(an2.seconds / walk.seconds).toFixed(1)}x (target: within 3x)`);
  if (convRow) out.push(`ssmcap analyze vs tshark -q -z conv,tcp: ${(rate(an) / rate(convRow)).toFixed(1)}x packets/s, --jobs 2 ${(rate(an2) / rate(convRow)).toFixed(1)}x (target: >= 15x)`);
  out.push(`analyze, flows shared by two worker threads vs one thread: ${(an.seconds / an2.seconds).toFixed(2)}x the speed (${os.availableParallelism()} cores here)`);
  out.push(`peak RSS of ssmcap runs: decode ${decStreams.rssMiB.toFixed(0)} MiB, packets ${pk.rssMiB.toFixed(0)} MiB, analyze ${an.rssMiB.toFixed(0)} MiB (--jobs 2: ${an2.rssMiB.toFixed(0)} MiB) (target: < 150 MB)`);
  out.push(`share of packets' time that is decoding: ${((100 * decStreams.seconds) / pk.seconds).toFixed(0)}% (the rest is NDJSON, output and process start)`);
  if (flat.length) {
    out.push('');
    out.push('RSS flatness (same generator, two sizes):');
    out.push(table(flat));
    const growth = (a: Measured, b: Measured) => `${a.rssMiB.toFixed(0)} -> ${b.rssMiB.toFixed(0)} MiB (${b.rssMiB - a.rssMiB >= 0 ? '+' : ''}${(b.rssMiB - a.rssMiB).toFixed(0)})`;
    out.push(`peak RSS from the small file to the large: decode ${growth(flat[0]!, flat[1]!)}, analyze ${growth(flat[2]!, flat[3]!)}, packets ${growth(flat[4]!, flat[5]!)} (target: flat, < 150 MB)`);
  }
  out.push('');
  out.push('notes:');
  out.push('- seconds: node runs (walk, decode) time their loop inside the child; commands are wall time of the process, start-up included');
  out.push(
    `- tshark prints ${TSHARK_FIELDS.length} fields (${TSHARK_FIELDS.join(' ')}); 'ssmcap packets' prints every field that applies (about 35 per TCP frame, tshark's names); '-e (12 fields)' prints the same 12 as tshark`,
  );
  out.push('- tcpdump 4.99 slows down as it goes through this capture (measured: ~90k packets/s on the first 100k packets, ~12k/s over 1M, -S or not; perf shows one hot loop inside tcpdump), so its rate depends on the file size');
  out.push('- every run reads the file from the page cache (the walk runs first, twice, the faster kept); MB = 10^6 bytes, MiB = 2^20');
  for (const n of notes) out.push(`- ${n}`);
  process.stdout.write(out.join('\n') + '\n');
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error)?.message ?? String(e)}\n`);
  process.exitCode = 1;
});

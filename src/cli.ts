#!/usr/bin/env node
/**
 * The ssmcap command line: a thin yargs layer over the library. Exit codes:
 *   0 done; 2 usage error; 65 no input could be read as a capture at all; 69 live capture could not start.
 *   analyze and live: 10/11/12/13 the run's verdict is transport/tls/application/inconclusive.
 */
import process from 'node:process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isCaptureError } from './errors.js';
import { captureBeside, expandInputs, type InputEntry } from './input/dir.js';
import fs from 'node:fs';
import { analyzeCapture, type CaptureAnalysis, type ConnectionResult } from './diagnose/analyze.js';
import { buildReport, EXIT_OF, ndjsonLine, reportText, SECRETS_SHOWN, writeReportJson, type RunReport } from './report/analysis.js';
import { analyzeMany } from './diagnose/parallel.js';
import { createProgress } from './report/progress.js';
import pathLib from 'node:path';
import { hasCaptureExtension } from './input/dir.js';
import type { LiveEngine } from './input/live.js';
import { redact } from './report/redact.js';
import type { PacketsFormat } from './report/packets.js';
import { logsDay, parseTimeZone, readLogs, type LogFile } from './input/logs.js';
import { applyLogs, type LogAnalysis } from './diagnose/logs.js';

export const EXIT = { ok: 0, usage: 2, unreadable: 65, liveUnavailable: 69, cannotWrite: 73 } as const;
const VERSION = '0.1.0';

class UsageError extends Error {}
/** the report's file (-o) cannot be written: one line, exit 73 (sysexits' EX_CANTCREAT) */
class CannotWrite extends Error {}

/** open -o before any work (a bad path fails at once, with one line), or stdout */
function openSink(o: string | undefined): NodeJS.WritableStream {
  if (!o) return process.stdout;
  return fs.createWriteStream('', { fd: openOut(o) });
}

function openOut(o: string): number {
  try {
    return fs.openSync(o, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CannotWrite(`cannot write ${o}: ${code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : ((e as Error).message ?? String(e))}`);
  }
}

/** one line on stderr, redacted like every other output (messages may quote a file's words) */
function errLine(msg: string): void {
  process.stderr.write(redact(`ssmcap: ${msg}\n`));
}

async function cmdPackets(argv: { input: string[]; format: string; e?: string[]; header: boolean; date?: string }): Promise<number> {
  if (argv.input.length !== 1) throw new UsageError(`packets takes one input (a file or -), got ${argv.input.length}: ${argv.input.join(' ')}`);
  const input = argv.input[0]!;
  if (input !== '-') {
    const [entry] = await expandInputs([input]);
    if (entry && entry.path !== input) throw new UsageError(`packets takes one file, and ${input} is a directory`);
  }
  // each command loads what only it uses (a run's start is mostly module loading)
  const { resolveFields, UnknownFieldError, writePackets } = await import('./report/packets.js');
  try {
    resolveFields(argv.e);
  } catch (e) {
    if (e instanceof UnknownFieldError) throw new UsageError(e.message);
    throw e;
  }
  const summary = await writePackets(input, process.stdout, { format: argv.format as PacketsFormat, fields: argv.e, header: argv.header, date: argv.date });
  if (summary.error) errLine(summary.error.message);
  // a readable capture with no frames (header only, or cut in its first record) is read, not an error
  return summary.readable ? EXIT.ok : EXIT.unreadable;
}

/**
 * The inputs of a run: files as named, and what directories hold. A missing file gets its error line;
 * inside a directory a file that is no capture by its first bytes is skipped (counted) unless its name
 * says it should be one, in which case it is an input with its error. tcpdump text in a directory is an
 * input, except beside the capture it was printed from (noted in `beside`, and skipped).
 */
async function captureInputs(args: string[]): Promise<{ paths: string[]; entries: InputEntry[]; skipped: number; beside: { text: string; capture: string }[] }> {
  const entries: InputEntry[] = [];
  const beside: { text: string; capture: string }[] = [];
  let skipped = 0;
  const all = await expandInputs(args);
  const captures = new Set(all.filter((e) => e.kind === 'capture' || e.kind === 'gzip').map((e) => e.path));
  for (const e of all) {
    const inDir = e.path !== e.arg;
    if (e.kind === 'missing') errLine(`${e.path}: byte 0: cannot read: no such file`);
    else if (e.kind === 'other' && inDir && !hasCaptureExtension(e.path)) skipped++;
    else if (e.kind === 'text' && inDir && captureBeside(e.path, captures)) beside.push({ text: e.path, capture: captureBeside(e.path, captures)! });
    else entries.push(e);
  }
  return { paths: entries.map((e) => e.path), entries, skipped, beside };
}

async function cmdInfo(argv: { input: string[]; format: string; port: number; date?: string }): Promise<number> {
  const inputs = await captureInputs(argv.input);
  const { paths } = inputs;
  // a tcpdump text beside its capture is skipped here too
  const skipped = inputs.skipped + inputs.beside.length;
  let readable = 0;
  const docs: Record<string, unknown>[] = [];
  const { formatInfoText, infoJson, inspectCapture } = await import('./report/info.js');
  for (const path of paths) {
    const info = await inspectCapture(path, { port: argv.port, date: argv.date });
    if (info.readable) readable++;
    if (info.error) errLine(info.error.message);
    if (argv.format === 'json') docs.push(infoJson(info));
    else process.stdout.write(formatInfoText(info) + '\n');
  }
  if (argv.format === 'json') process.stdout.write(JSON.stringify({ inputs: docs, skipped }, null, 2) + '\n');
  else if (skipped) process.stdout.write(`(${skipped} files that are not captures skipped)\n`);
  return readable > 0 ? EXIT.ok : EXIT.unreadable;
}

// yargs drops a lone '-' positional: carry it through as a token no file name can collide with
const STDIN_TOKEN = '\u0000stdin';
function restoreStdin<T extends { input?: string[] }>(a: T): T {
  if (a.input) a.input = a.input.map((x) => (x === STDIN_TOKEN ? '-' : x));
  return a;
}

function parseServer(s: string | undefined): { addr: string; port?: number } | undefined {
  if (!s) return undefined;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? (s.split(':').length === 2 ? /^([^:]+):(\d+)$/.exec(s) : null);
  if (m) return { addr: m[1]!.toLowerCase(), port: m[2] ? Number(m[2]) : undefined };
  return { addr: s.toLowerCase() };
}

/**
 * --show-secrets: redaction off only for the user's own terminal. Refused, with a line on stderr, when the
 * output goes to a file (-o) or a pipe: what is written there gets shared.
 */
function secretsShown(argv: { showSecrets?: boolean; o?: string }): boolean {
  if (!argv.showSecrets) return false;
  if (argv.o || !process.stdout.isTTY) {
    errLine(`--show-secrets refused: the output goes to ${argv.o ? `the file ${argv.o}` : 'a pipe or file, not a terminal'}; secrets stay redacted`);
    return false;
  }
  return true;
}

async function cmdAnalyze(argv: { input?: string[]; format: string; port: number; server?: string; o?: string; color?: boolean; date?: string; maxConnections?: number; follow?: boolean; idle: number; jobs?: number; quiet?: boolean; log?: string[]; logTz?: string; keylog?: string[]; ladder?: boolean; showSecrets?: boolean }): Promise<number> {
  if (!argv.input?.length && !argv.log?.length) throw new UsageError('analyze needs a capture, or --log FILE');
  const showSecrets = secretsShown(argv);
  if (argv.follow) return cmdFollow({ ...argv, showSecrets } as Parameters<typeof cmdFollow>[0]);
  // logs first: tcpdump text without dates takes its day from them (unless --date)
  let logFiles: LogFile[] | null = null;
  if (argv.log?.length) {
    const { files, missing } = await readLogs(argv.log, { tz: argv.logTz });
    for (const m of missing) errLine(`${m}: line 0: cannot read: no such file`);
    for (const f of files) if (f.error) errLine(f.error);
    logFiles = files;
    argv.date ??= logsDay(files) ?? undefined;
  }
  const { paths, entries, skipped, beside } = await captureInputs(argv.input ?? []);
  const server = parseServer(argv.server);
  const ndjson = argv.format === 'ndjson';
  const sink = ndjson ? openSink(argv.o) : null;
  if (sink && showSecrets) sink.write(ndjsonLine({ type: 'notice', secrets_shown: true, text: SECRETS_SHOWN }, true));
  const progress = createProgress(
    paths.map((p) => (p === '-' ? 0 : fileSize(p))),
    { quiet: argv.quiet },
  );
  if (beside.length === 1) progress.log(`ssmcap: ${beside[0]!.text}: tcpdump text of ${beside[0]!.capture} beside it: skipped (the capture itself is read)\n`);
  else if (beside.length > 1) progress.log(`ssmcap: ${beside.length} tcpdump texts lie beside the captures they were printed from (e.g. ${beside[0]!.text}): skipped, the captures themselves are read\n`);
  let readable = 0;
  const keylogSaid = new Set<string>();
  // files are read in parallel (worker threads, one per core; a single input in this thread). NDJSON:
  // connection lines as they are judged, in whatever order the files finish; server lines per file, in input order
  const analyses = await analyzeMany(paths, {
    port: argv.port,
    server,
    date: argv.date,
    maxConnections: argv.maxConnections,
    keylog: argv.keylog,
    workers: argv.jobs,
    onConnection: sink ? (r) => void sink.write(ndjsonLine({ type: 'connection', provisional: true, ...r }, showSecrets)) : undefined,
    onProgress: (i, bytes, packets) => progress.update(i, bytes, packets),
    onInput: (a, i) => {
      progress.done(i, a.input.packets);
      if (a.error) progress.log(`ssmcap: ${a.error.message}\n`);
      // key log lines that did not parse: one line each on stderr, once per run (the secret never shown)
      for (const p of a.input.keylog?.problems ?? []) {
        const msg = p.line > 0 ? `${p.source}: line ${p.line}: ${p.message}` : `${p.source}: ${p.message}`;
        if (!keylogSaid.has(msg)) progress.log(`ssmcap: ${msg}\n`);
        keylogSaid.add(msg);
      }
      if (a.input.readable) readable++;
      const e = entries[i]!;
      if (e.path !== e.arg) {
        a.input.directory = e.arg;
        a.input.path_in_directory = pathLib.relative(e.arg, e.path);
      }
      // with logs the servers wait for them: the logs may make their reasons precise
      if (sink && !logFiles) for (const sv of a.servers) sink.write(ndjsonLine({ type: 'server', ...sv }, showSecrets));
    },
  }).finally(() => progress.stop());
  let logs: LogAnalysis | undefined;
  if (logFiles) {
    logs = applyLogs(analyses, logFiles);
    if (sink) {
      for (const l of logs.logs) sink.write(ndjsonLine({ type: 'log', ...l }, showSecrets));
      for (const t of logs.timeline) if (t.source === 'log') sink.write(ndjsonLine({ type: 'log_event', ...t }, showSecrets));
      for (const a of analyses) for (const c of a.connections) if (c.log_events) sink.write(ndjsonLine({ type: 'connection', provisional: false, ...c }, showSecrets));
      for (const a of analyses) for (const sv of a.servers) sink.write(ndjsonLine({ type: 'server', ...sv }, showSecrets));
      for (const f of logs.findings) sink.write(ndjsonLine({ type: 'log_finding', ...f }, showSecrets));
    }
    if (logFiles.length === 0) errLine(`--log ${argv.log!.join(' ')}: no log file found`);
  }
  if (readable === 0 && !(logFiles && logFiles.some((f) => f.lines > 0))) {
    if (sink && sink !== process.stdout) (sink as fs.WriteStream).end();
    return EXIT.unreadable;
  }
  return emitReport(analyses, { ...argv, showSecrets }, sink, skipped || beside.length ? { files: skipped, text_beside_capture: beside } : undefined, logs);
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

/** the run's report on stdout (or -o) in the chosen format; NDJSON: the closing summary line. Returns analyze's exit code. */
async function emitReport(analyses: CaptureAnalysis[], argv: { format: string; o?: string; color?: boolean; ladder?: boolean; showSecrets?: boolean }, sink: NodeJS.WritableStream | null, skipped?: RunReport['skipped'], logs?: LogAnalysis): Promise<number> {
  // showSecrets here is already decided (secretsShown): only the user's own terminal gets it
  const showSecrets = argv.showSecrets ?? false;
  const report = buildReport(analyses, VERSION, logs);
  if (skipped) report.skipped = skipped;
  if (sink) {
    sink.write(ndjsonLine({ type: 'summary', tool: report.tool, verdict: report.verdict, reason: report.reason, summary: report.summary, inputs: report.inputs, checksums: report.checksums, skipped: report.skipped, ...(logs ? { logs: report.logs, log_notes: report.log_notes } : {}) }, showSecrets));
    if (sink !== process.stdout) await new Promise<void>((res) => (sink as fs.WriteStream).end(res));
    return EXIT_OF[report.verdict];
  }
  if (argv.format === 'json' || argv.format === 'html') {
    // written in pieces: a large report is never one string in memory (nor its copy for the write);
    // --show-secrets never reaches a file (secretsShown refuses it with -o)
    const writeReportHtml = argv.format === 'html' ? (await import('./report/html.js')).writeReportHtml : null;
    const write = (out: (t: string) => void) => (writeReportHtml ? writeReportHtml(report, out, { showSecrets }) : writeReportJson(report, out, showSecrets));
    if (argv.o) {
      const fd = openOut(argv.o);
      try {
        write((t) => void fs.writeSync(fd, t));
      } finally {
        fs.closeSync(fd);
      }
    } else write((t) => void process.stdout.write(t));
    return EXIT_OF[report.verdict];
  }
  const width = (!argv.o && process.stdout.isTTY && process.stdout.columns) || 80;
  const out = reportText(report, { color: argv.o ? false : (argv.color ?? (process.stdout.isTTY && !process.env.NO_COLOR)), ladder: argv.ladder, width, showSecrets });
  if (argv.o) {
    const fd = openOut(argv.o);
    try {
      fs.writeSync(fd, out);
    } finally {
      fs.closeSync(fd);
    }
  } else process.stdout.write(out);
  return EXIT_OF[report.verdict];
}

/** one stderr line per connection as it is judged (live capture, --follow) */
function connectionLine(r: ConnectionResult): string {
  const t = Number(r.start);
  return redact(`ssmcap: ${r.start && Number.isFinite(t) ? `${new Date(t * 1000).toISOString()} ` : ''}${r.client} -> ${r.server}${r.proxy ? ` via ${r.proxy}` : ''}: ${r.conn_state} ${r.history || '-'}: ${r.verdict}/${r.reason}${r.inferred ? ' (inferred)' : ''}: ${r.summary}`) + '\n';
}

/** stops a live run or a --follow on Ctrl-C / SIGTERM (once; a second Ctrl-C exits at once) */
function onInterrupt(stop: () => void): () => void {
  let count = 0;
  const h = (sig: NodeJS.Signals) => {
    if (++count > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    stop();
  };
  process.on('SIGINT', h);
  process.on('SIGTERM', h);
  return () => {
    process.off('SIGINT', h);
    process.off('SIGTERM', h);
  };
}

async function cmdFollow(argv: { input: string[]; format: string; port: number; server?: string; o?: string; color?: boolean; maxConnections?: number; idle: number; keylog?: string[]; log?: string[]; ladder?: boolean; showSecrets?: boolean }): Promise<number> {
  if (argv.input.length !== 1 || argv.input[0] === '-') throw new UsageError('--follow takes one capture file');
  if (argv.log?.length) throw new UsageError('--log is not read with --follow: analyze the file with --log once it is written');
  const showSecrets = argv.showSecrets ?? false;
  const path = argv.input[0]!;
  if (fs.existsSync(path) && fs.statSync(path).isDirectory()) throw new UsageError(`--follow takes one capture file, and ${path} is a directory`);
  const ndjson = argv.format === 'ndjson';
  const sink = ndjson ? openSink(argv.o) : null;
  const { followFile } = await import('./input/follow.js');
  const f = followFile(path, { idleSec: argv.idle });
  const off = onInterrupt(() => f.stop());
  // the file is read as a stream: its key log beside it is named explicitly
  const keylog = [...(argv.keylog ?? []), ...(fs.existsSync(`${path}.keys`) && !(argv.keylog ?? []).includes(`${path}.keys`) ? [`${path}.keys`] : [])];
  const a = await analyzeCapture(f.stream, {
    name: path,
    keylog,
    port: argv.port,
    server: parseServer(argv.server),
    maxConnections: argv.maxConnections,
    judgeWhileIdle: true,
    onConnection: (r) => {
      process.stderr.write(connectionLine(r));
      if (sink) sink.write(ndjsonLine({ type: 'connection', provisional: true, ...r }, showSecrets));
    },
  }).finally(off);
  if (a.error) errLine(a.error.message);
  if (!a.input.readable) {
    if (sink && sink !== process.stdout) (sink as fs.WriteStream).end();
    return EXIT.unreadable;
  }
  if (sink) for (const sv of a.servers) sink.write(ndjsonLine({ type: 'server', ...sv }, showSecrets));
  return emitReport([a], argv, sink);
}

async function cmdLive(argv: { i?: string; port: number; server?: string; duration?: number; count?: number; w?: string; format: string; o?: string; color?: boolean; proxyPort?: number[]; engine: LiveEngine; maxConnections?: number }): Promise<number> {
  if (argv.duration !== undefined && !(argv.duration > 0)) throw new UsageError(`--duration takes seconds > 0, got ${argv.duration}`);
  if (argv.count !== undefined && !(Number.isInteger(argv.count) && argv.count > 0)) throw new UsageError(`--count takes a number of packets > 0, got ${argv.count}`);
  const server = parseServer(argv.server);
  const port = server?.port ?? argv.port;
  if (argv.w) {
    // the raw capture's file must be writable before capturing starts
    try {
      fs.closeSync(fs.openSync(argv.w, 'w'));
    } catch (e) {
      errLine(`cannot write ${argv.w}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : ((e as Error).message ?? String(e))}`);
      return EXIT.liveUnavailable;
    }
  }
  // the report's file too (a failure once the capture ran would lose it)
  if (argv.o) fs.closeSync(openOut(argv.o));
  const { LiveError, startLive } = await import('./input/live.js');
  let cap;
  try {
    cap = await startLive({ iface: argv.i, port, proxyPorts: argv.proxyPort, count: argv.count, writeFile: argv.w, engine: argv.engine });
    await cap.ready;
  } catch (e) {
    if (e instanceof LiveError) {
      errLine(e.message);
      return EXIT.liveUnavailable;
    }
    throw e;
  }
  const live = cap;
  process.stderr.write(`ssmcap: capturing on ${live.describe}${argv.duration ? ` for ${argv.duration} s` : ''}${argv.count ? `, at most ${argv.count} packets` : ''}; Ctrl-C ends it and prints the report\n`);
  const timer = argv.duration ? setTimeout(() => live.stop(), argv.duration * 1000) : null;
  const off = onInterrupt(() => live.stop());
  const ndjson = argv.format === 'ndjson';
  const sink = ndjson ? openSink(argv.o) : null;
  const name = `live:${argv.i ?? 'default'}`;
  let a: CaptureAnalysis;
  try {
    a = await analyzeCapture(live.stream, {
      name,
      port: argv.port,
      server,
      maxConnections: argv.maxConnections,
      judgeWhileIdle: true,
      onConnection: (r) => {
        process.stderr.write(connectionLine(r));
        if (sink) sink.write(ndjsonLine({ type: 'connection', provisional: true, ...r }));
      },
    });
  } catch (e) {
    if (e instanceof LiveError) {
      errLine(e.message);
      return EXIT.liveUnavailable;
    }
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
    off();
    live.stop();
  }
  const why = await live.ended;
  if (why) errLine(`capture ended: ${why}`);
  // no packet at all is still a readable (empty) capture: the report says nothing reached the port
  if (a.error && !(a.error.code === 'empty' || (a.error.code === 'truncated' && a.input.packets === 0 && !a.input.readable))) errLine(a.error.message);
  if (sink) for (const sv of a.servers) sink.write(ndjsonLine({ type: 'server', ...sv }));
  return emitReport([a], argv, sink);
}

/** tcpdump text prints times of day only: the day they are on */
const DATE_OPTION = {
  type: 'string',
  describe: 'tcpdump text input: the day of its HH:MM:SS timestamps (YYYY-MM-DD, UTC; default 1970-01-01)',
  coerce: (d: string) => {
    if (!/^\d{4}-\d\d-\d\d$/.test(d) || Number.isNaN(Date.parse(d))) throw new UsageError(`--date takes YYYY-MM-DD, got ${d}`);
    return d;
  },
} as const;

export async function main(args: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const parser = yargs(args.map((a) => (a === '-' ? STDIN_TOKEN : a)))
    .scriptName('ssmcap')
    .usage('$0 <command> [options]\n\nPacket-capture analyzer for vManage to SSM On-Prem license sync on TCP 8443.')
    .command(
      'packets <input..>',
      'one record per frame, fields named as tshark names them',
      (y) =>
        y
          .positional('input', { type: 'string', array: true, demandOption: true, describe: 'capture file (pcap, pcapng, gzip, tcpdump text) or - for stdin' })
          .option('format', { choices: ['ndjson', 'tsv'] as const, default: 'ndjson', describe: 'output format' })
          .option('e', { type: 'string', array: true, describe: 'field to print (repeat), like tshark -e' })
          .option('header', { type: 'boolean', default: true, describe: 'TSV: print the field names first' })
          .option('date', DATE_OPTION),
    )
    .command(
      'analyze [input..]',
      'diagnose every connection to the SSM port: transport, TLS or application, with the frames that prove it',
      (y) =>
        y
          .positional('input', { type: 'string', array: true, describe: 'capture files, directories, or - for stdin (none: only --log)' })
          .option('port', { type: 'number', default: 8443, describe: 'the SSM server port' })
          .option('server', { type: 'string', describe: 'only this server: ADDR or ADDR:PORT ([v6]:PORT)' })
          .option('format', { choices: ['text', 'json', 'ndjson', 'html'] as const, default: 'text', describe: 'text for people, one JSON document, NDJSON lines as connections end, or one self-contained HTML file with ladder diagrams' })
          .option('o', { type: 'string', describe: 'write the report to this file' })
          .option('max-connections', { type: 'number', default: 1000, describe: 'connections listed in full per input (all still count in the verdicts; NDJSON lists every one)' })
          .option('color', { type: 'boolean', describe: 'colour the text report (default: on a TTY, unless NO_COLOR)' })
          .option('follow', { type: 'boolean', describe: 'the capture is still being written: wait at its end for more, print each connection as it ends (stderr), stop on Ctrl-C or after --idle' })
          .option('idle', { type: 'number', default: 10, describe: '--follow: seconds without growth that end the run' })
          .option('jobs', { type: 'number', describe: 'worker threads: many files at once, or one big capture shared by flow (default: one per core for many files; one big capture is shared from 4 cores on; 1: none)' })
          .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress bar' })
          .option('date', DATE_OPTION)
          .option('ladder', { type: 'boolean', default: false, describe: 'text: draw each listed connection as a ladder (who sent what, frame and time), as wide as the terminal' })
          .option('show-secrets', { type: 'boolean', default: false, describe: 'do not redact credentials and tokens; only when the output is your terminal (refused with -o or a pipe)' })
          .option('keylog', { type: 'string', array: true, describe: 'NSS key log (SSLKEYLOGFILE) to decrypt TLS with (repeat; CAPTURE.keys beside a capture is read too)' })
          .option('log', { type: 'string', array: true, describe: 'vmanage-server.log, SSM On-Prem /var/log/messages, nginx logs (files or directories, gzip too; repeat): put on the timeline and used in the findings' })
          .option('log-tz', {
            type: 'string',
            describe: 'time zone of log stamps that carry none (syslog, nginx error): UTC (default), +05:30, IST, Asia/Kolkata',
            coerce: (z: string) => {
              if (!parseTimeZone(z)) throw new UsageError(`--log-tz takes a zone like UTC, +05:30, IST or Asia/Kolkata, got ${z}`);
              return z;
            },
          }),
    )
    .command(
      'live',
      'capture live with tcpdump and diagnose: each connection on stderr as it ends, the report on stdout at the end',
      (y) =>
        y
          .option('i', { type: 'string', alias: 'interface', describe: 'interface to capture on (default: tcpdump\'s; any: all)' })
          .option('port', { type: 'number', default: 8443, describe: 'the SSM server port' })
          .option('server', { type: 'string', describe: 'only this server: ADDR or ADDR:PORT ([v6]:PORT)' })
          .option('proxy-port', { type: 'number', array: true, describe: 'capture this proxy port too (repeat)' })
          .option('duration', { type: 'number', describe: 'stop after this many seconds' })
          .option('count', { type: 'number', describe: 'stop after this many packets' })
          .option('w', { type: 'string', describe: 'keep the raw capture (pcap) in this file too' })
          .option('engine', { choices: ['tcpdump', 'cap'] as const, default: 'tcpdump' as const, describe: 'capture engine: tcpdump, or the optional cap npm binding' })
          .option('format', { choices: ['text', 'json', 'ndjson'] as const, default: 'text', describe: 'report format (ndjson: connection lines as they end, on stdout)' })
          .option('o', { type: 'string', describe: 'write the report to this file' })
          .option('max-connections', { type: 'number', default: 1000, describe: 'connections listed in full' })
          .option('color', { type: 'boolean', describe: 'colour the text report (default: on a TTY, unless NO_COLOR)' }),
    )
    .command(
      'info <input..>',
      'what each capture holds: format, link types, frames, conversations, checksum attribution',
      (y) =>
        y
          .positional('input', { type: 'string', array: true, demandOption: true, describe: 'capture files or directories' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' })
          .option('port', { type: 'number', default: 8443, describe: 'the server port to count connections to' })
          .option('date', DATE_OPTION),
    )
    .demandCommand(1, 'name a command')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  // yargs renders the whole help text after running a command (its default handler too), to keep it for a
  // handler that asks for it later: ~50 ms of every run's start. Nothing here asks, and `--help` renders it
  // anew, so the cache is left empty (an internal of yargs 18: if it is not there, nothing changes).
  const usage = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
  try {
    // we dispatch on the parsed command ourselves (the commands have no yargs handlers)
    const a = await parser.parseAsync();
    const cmd = a._[0];
    if (cmd === 'packets') code = await cmdPackets(restoreStdin(a as unknown as Parameters<typeof cmdPackets>[0]));
    else if (cmd === 'analyze') code = await cmdAnalyze(restoreStdin(a as unknown as Parameters<typeof cmdAnalyze>[0]));
    else if (cmd === 'live') code = await cmdLive(a as unknown as Parameters<typeof cmdLive>[0]);
    else if (cmd === 'info') code = await cmdInfo(restoreStdin(a as unknown as Parameters<typeof cmdInfo>[0]));
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === 'YError')) {
      errLine(`${e.message} (see ssmcap --help)`);
      return EXIT.usage;
    }
    if (isCaptureError(e)) {
      errLine(e.message);
      return EXIT.unreadable;
    }
    if (e instanceof CannotWrite) {
      errLine(e.message);
      return EXIT.cannotWrite;
    }
    if ((e as NodeJS.ErrnoException)?.code === 'EPIPE') return code;
    errLine(`internal error: ${(e as Error)?.message ?? String(e)}`);
    return 70;
  }
  return code;
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

const code = await main(hideBin(process.argv));
process.exitCode = code;

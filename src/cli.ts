#!/usr/bin/env node
/**
 * The ssmcap command line: a thin yargs layer over the library. Exit codes:
 *   0 done; 2 usage error; 65 no input could be read as a capture at all.
 */
import process from 'node:process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isCaptureError } from './errors.js';
import { expandInputs } from './input/dir.js';
import { formatInfoText, infoJson, inspectCapture } from './report/info.js';
import fs from 'node:fs';
import { analyzeCapture, type CaptureAnalysis, type ConnectionResult } from './diagnose/analyze.js';
import { buildReport, EXIT_OF, ndjsonLine, reportText, SECRETS_SHOWN, writeReportJson } from './report/analysis.js';
import { writeReportHtml } from './report/html.js';
import { hasCaptureExtension } from './input/dir.js';
import { resolveFields, UnknownFieldError, writePackets, type PacketsFormat } from './report/packets.js';

export const EXIT = { ok: 0, usage: 2, unreadable: 65 } as const;
const VERSION = '0.1.0';

class UsageError extends Error {}

function errLine(msg: string): void {
  process.stderr.write(`ssmcap: ${msg}\n`);
}

async function cmdPackets(argv: { input: string[]; format: string; e?: string[]; header: boolean; date?: string }): Promise<number> {
  if (argv.input.length !== 1) throw new UsageError(`packets takes one input (a file or -), got ${argv.input.length}: ${argv.input.join(' ')}`);
  const input = argv.input[0]!;
  if (input !== '-') {
    const [entry] = await expandInputs([input]);
    if (entry && entry.path !== input) throw new UsageError(`packets takes one file, and ${input} is a directory`);
  }
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
 * says it should be one, in which case it is an input with its error.
 */
async function captureInputs(args: string[]): Promise<{ paths: string[]; skipped: number }> {
  const paths: string[] = [];
  let skipped = 0;
  for (const e of await expandInputs(args)) {
    if (e.kind === 'missing') errLine(`${e.path}: byte 0: cannot read: no such file`);
    else if (e.kind === 'other' && e.path !== e.arg && !hasCaptureExtension(e.path)) skipped++;
    else paths.push(e.path);
  }
  return { paths, skipped };
}

async function cmdInfo(argv: { input: string[]; format: string; port: number; date?: string }): Promise<number> {
  const { paths, skipped } = await captureInputs(argv.input);
  let readable = 0;
  const docs: Record<string, unknown>[] = [];
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

async function cmdAnalyze(argv: { input: string[]; format: string; port: number; server?: string; o?: string; color?: boolean; date?: string; maxConnections?: number; ladder?: boolean; showSecrets?: boolean }): Promise<number> {
  const showSecrets = secretsShown(argv);
  const { paths } = await captureInputs(argv.input);
  const analyses: CaptureAnalysis[] = [];
  let readable = 0;
  const server = parseServer(argv.server);
  const ndjson = argv.format === 'ndjson';
  const sink = ndjson ? (argv.o ? fs.createWriteStream(argv.o) : process.stdout) : null;
  if (sink && showSecrets) sink.write(ndjsonLine({ type: 'notice', secrets_shown: true, text: SECRETS_SHOWN }, true));
  for (const path of paths) {
    // NDJSON streams each connection as soon as it is judged (provisional), servers once the input is done
    const onConnection = sink ? (r: ConnectionResult) => void sink.write(ndjsonLine({ type: 'connection', provisional: true, ...r }, showSecrets)) : undefined;
    const a = await analyzeCapture(path, { port: argv.port, server, date: argv.date, onConnection, maxConnections: argv.maxConnections });
    if (a.error) errLine(a.error.message);
    if (a.input.readable) readable++;
    analyses.push(a);
    if (sink) for (const sv of a.servers) sink.write(ndjsonLine({ type: 'server', ...sv }, showSecrets));
  }
  if (readable === 0) {
    if (sink && sink !== process.stdout) (sink as fs.WriteStream).end();
    return EXIT.unreadable;
  }
  const report = buildReport(analyses, VERSION);
  if (sink) {
    sink.write(ndjsonLine({ type: 'summary', tool: report.tool, verdict: report.verdict, reason: report.reason, summary: report.summary, inputs: report.inputs, checksums: report.checksums }, showSecrets));
    if (sink !== process.stdout) await new Promise<void>((res) => (sink as fs.WriteStream).end(res));
    return EXIT_OF[report.verdict];
  }
  if (argv.format === 'json') {
    // written in pieces: a large report is never one string in memory (nor its copy for the write)
    if (argv.o) {
      const fd = fs.openSync(argv.o, 'w');
      try {
        writeReportJson(report, (t) => fs.writeSync(fd, t));
      } finally {
        fs.closeSync(fd);
      }
    } else writeReportJson(report, (t) => process.stdout.write(t), showSecrets);
    return EXIT_OF[report.verdict];
  }
  if (argv.format === 'html') {
    if (argv.o) {
      const fd = fs.openSync(argv.o, 'w');
      try {
        writeReportHtml(report, (t) => fs.writeSync(fd, t));
      } finally {
        fs.closeSync(fd);
      }
    } else writeReportHtml(report, (t) => process.stdout.write(t), { showSecrets });
    return EXIT_OF[report.verdict];
  }
  const width = (!argv.o && process.stdout.isTTY && process.stdout.columns) || 80;
  const out = reportText(report, { color: argv.o ? false : (argv.color ?? (process.stdout.isTTY && !process.env.NO_COLOR)), ladder: argv.ladder, width, showSecrets });
  if (argv.o) fs.writeFileSync(argv.o, out);
  else process.stdout.write(out);
  return EXIT_OF[report.verdict];
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
      async (a) => {
        code = await cmdPackets(restoreStdin(a as Parameters<typeof cmdPackets>[0]));
      },
    )
    .command(
      'analyze <input..>',
      'diagnose every connection to the SSM port: transport, TLS or application, with the frames that prove it',
      (y) =>
        y
          .positional('input', { type: 'string', array: true, demandOption: true, describe: 'capture files, directories, or - for stdin' })
          .option('port', { type: 'number', default: 8443, describe: 'the SSM server port' })
          .option('server', { type: 'string', describe: 'only this server: ADDR or ADDR:PORT ([v6]:PORT)' })
          .option('format', { choices: ['text', 'json', 'ndjson', 'html'] as const, default: 'text', describe: 'text for people, one JSON document, NDJSON lines as connections end, or one self-contained HTML file with ladder diagrams' })
          .option('o', { type: 'string', describe: 'write the report to this file' })
          .option('max-connections', { type: 'number', default: 1000, describe: 'connections listed in full per input (all still count in the verdicts; NDJSON lists every one)' })
          .option('color', { type: 'boolean', describe: 'colour the text report (default: on a TTY, unless NO_COLOR)' })
          .option('ladder', { type: 'boolean', default: false, describe: 'text: draw each listed connection as a ladder (who sent what, frame and time), as wide as the terminal' })
          .option('show-secrets', { type: 'boolean', default: false, describe: 'do not redact credentials and tokens; only when the output is your terminal (refused with -o or a pipe)' })
          .option('date', DATE_OPTION),
      async (a) => {
        code = await cmdAnalyze(restoreStdin(a as Parameters<typeof cmdAnalyze>[0]));
      },
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
      async (a) => {
        code = await cmdInfo(restoreStdin(a as Parameters<typeof cmdInfo>[0]));
      },
    )
    .demandCommand(1, 'name a command')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === 'YError')) {
      errLine(`${e.message} (see ssmcap --help)`);
      return EXIT.usage;
    }
    if (isCaptureError(e)) {
      errLine(e.message);
      return EXIT.unreadable;
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

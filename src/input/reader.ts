/**
 * readCapture: pull chunks from a file, stdin or any byte stream, detect the format by magic (gzip
 * first), and feed a format parser. The next chunk is pulled only after every frame of the current one
 * has been handed to the consumer, so backpressure is the consumer's own pace. Memory is one chunk plus
 * at most one record carried across a chunk boundary: a record that spans chunks is completed from the
 * next chunk (only the bytes it still needs are copied), and the rest of that chunk is parsed in place.
 */
import fs from 'node:fs';
import { constants as zlibConstants, createGunzip, type Gunzip } from 'node:zlib';
import { copyBytes } from '../bytes.js';
import { CaptureError, isCaptureError } from '../errors.js';
import { allocSummable } from '../sum-memory.js';
import type { Frame } from './frame.js';
import { linkTypeName } from './linktypes.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapParser } from './pcap.js';
import { BT_SHB, PcapngParser } from './pcapng.js';
import type { DecryptionSecret, FormatParser, InterfaceInfo } from './parser.js';
import { Readable } from 'node:stream';
import { emptySummary, looksLikeTcpdumpText, readTextLines, TEXT_SNIFF_BYTES } from './tcpdump-text.js';

/** 'tcpdump-text': tcpdump's printout, its packets turned back into raw IP frames (see tcpdump-text.ts) */
export type CaptureFormat = 'pcap' | 'pcapng' | 'tcpdump-text';

/** tcpdump text only: how its lines were read */
export interface TextLineStats {
  /** lines that made (part of) a packet */
  parsed: number;
  /** lines known and ignored: banners, blank lines, fences, protocol detail and payload text under a packet */
  skipped: number;
  unrecognizedCount: number;
  /** the first 20 lines not understood, 1-based line numbers */
  unrecognized: { line: number; text: string }[];
}

export interface CaptureSummary {
  /** the name used in messages: the path as given, or `-` for stdin */
  file: string;
  format: CaptureFormat | null;
  compression: 'gzip' | null;
  byteOrder: 'le' | 'be' | 'mixed' | null;
  interfaces: InterfaceInfo[];
  /** frames read, custom-block frames included (tshark's frame count) */
  frames: number;
  /** frames per link type */
  linkTypes: { linkType: number; name: string; frames: number }[];
  /** bytes of capture consumed (decompressed for gzip) */
  bytes: number;
  secrets: DecryptionSecret[];
  /** the fault that stopped reading, if any; frames before it were delivered */
  error: CaptureError | null;
  /** true when the input could be read as a capture at all (a header was understood) */
  readable: boolean;
  /** tcpdump text input: how its lines were read */
  textLines?: TextLineStats;
}

export type CaptureInput = string | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

export interface ReadOptions {
  /** name for messages when the input is a stream */
  name?: string;
  /** read size for files (default 1 MiB) */
  chunkSize?: number;
  /** called after each chunk with the bytes consumed so far (progress bars) */
  onProgress?: (bytes: number) => void;
  /** awaited after the frames of each chunk were delivered: a consumer's own backpressure (e.g. output drain) */
  afterChunk?: () => void | Promise<void>;
  /** tcpdump text whose timestamps have no date (HH:MM:SS.frac): the day, YYYY-MM-DD (default 1970-01-01), UTC */
  date?: string;
  /** pcapng: each Decryption Secrets Block as it is read (before the frames that follow it) */
  onSecret?: (s: DecryptionSecret) => void;
}

export function sniffMagic(b: Uint8Array): 'gzip' | CaptureFormat | null {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length < 4) return null;
  const be = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const le = ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
  if (be === BT_SHB) return 'pcapng';
  if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) return 'pcap';
  return null;
}

function describeMagic(b: Uint8Array): string {
  if (b.length >= 12) {
    // pcapng blocks without the Section Header Block that must open the file: its start is missing
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (const le of [true, false]) {
      const type = v.getUint32(0, le);
      const len = v.getUint32(4, le);
      if ((type === 1 || type === 6 || type === 3 || type === 5) && len >= 12 && len % 4 === 0 && len <= 1 << 20) {
        return `starts with a pcapng block of type ${type} instead of a Section Header Block: the start of the file is missing`;
      }
    }
  }
  const hex = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(b.subarray(0, 16), (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return `unknown file format: first bytes ${hex} ("${text}") are not a pcap, pcapng or gzip magic`;
}

/** whether file chunks may be handed out in reused buffers (set once the binary parser alone reads them) */
interface Reuse {
  on: boolean;
}

async function* chunksOf(input: CaptureInput, chunkSize: number, reuse: Reuse): AsyncGenerator<Uint8Array> {
  if (typeof input === 'string' && input !== '-') {
    yield* fileChunks(input, chunkSize, reuse);
    return;
  }
  const stream = typeof input === 'string' ? process.stdin : input;
  for await (const c of stream as AsyncIterable<Uint8Array | string>) yield typeof c === 'string' ? Buffer.from(c) : c;
}

/**
 * A file's bytes in chunks read into two reused buffers (fresh buffers per chunk, as fs.createReadStream
 * allocates, cost a fifth of decode time in garbage collection). While the consumer parses one buffer the
 * next chunk is read into the other, so reading overlaps parsing; nothing more is read ahead. With
 * `reuse.on` a chunk is a view, valid until the next one is pulled: only the binary parser loop, which
 * copies what it carries over, turns it on. Until then (format sniffing, gzip, text) each chunk is a copy
 * its consumer may keep. Both buffers share one allocSummable memory, where checksums are summed in place.
 */
async function* fileChunks(path: string, chunkSize: number, reuse: Reuse): AsyncGenerator<Uint8Array> {
  const fh = await fs.promises.open(path, 'r');
  let pending: Promise<{ bytesRead: number }> | null = null;
  try {
    const both = allocSummable(2 * chunkSize);
    const bufs = [both.subarray(0, chunkSize), both.subarray(chunkSize)] as const;
    let cur = 0;
    // position null: read on from the file position (works for pipes too); one read in flight at a time
    pending = fh.read(bufs[cur], 0, chunkSize, null);
    for (;;) {
      const { bytesRead } = await pending;
      pending = null;
      if (bytesRead === 0) return;
      const chunk = bufs[cur].subarray(0, bytesRead);
      cur ^= 1;
      pending = fh.read(bufs[cur], 0, chunkSize, null);
      yield reuse.on ? chunk : copyBytes(chunk);
    }
  } finally {
    // a read still in flight must end before the file closes; its fault, if any, no longer matters
    if (pending) await pending.catch(() => undefined);
    await fh.close();
  }
}

function ioError(file: string, e: unknown, offset: number): CaptureError {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === 'ENOENT'
      ? 'no such file'
      : err.code === 'EISDIR'
        ? 'it is a directory'
        : err.code === 'EACCES' || err.code === 'EPERM'
          ? 'permission denied'
          : oneLine(err.message ?? String(e));
  return new CaptureError({ code: 'io', file, offset, detail: `cannot read: ${why}` });
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The bytes left over at the end of one chunk, completed from the next. Grows, never shrinks. */
class Carry {
  buf = new Uint8Array(0);
  view = new DataView(this.buf.buffer);
  length = 0;

  append(src: Uint8Array, from: number, n: number): void {
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n, 64 * 1024));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.buf.set(src.subarray(from, from + n), this.length);
    this.length += n;
  }

  drop(n: number): void {
    if (n === 0) return;
    this.buf.copyWithin(0, n, this.length);
    this.length -= n;
  }
}

/**
 * Read a capture, calling `onFrame` for every frame with a reused Frame (valid during the call only).
 * Never throws for bad input: the fault is in the summary's `error`, with everything before it delivered.
 * Errors thrown by `onFrame` itself propagate.
 */
export async function readCapture(input: CaptureInput, onFrame: (f: Frame) => void, opts: ReadOptions = {}): Promise<CaptureSummary> {
  const file = opts.name ?? (typeof input === 'string' ? input : '-');
  const summary = emptySummary(file);
  const ltCounts = new Map<number, number>();
  let lastLt = -2;
  let lastCount = 0;
  let frames = 0;
  const sink = (f: Frame) => {
    frames++;
    // count per link type without a map lookup per frame in the common single-link-type case
    if (f.linkType !== lastLt) {
      if (lastLt !== -2) ltCounts.set(lastLt, (ltCounts.get(lastLt) ?? 0) + lastCount);
      lastLt = f.linkType;
      lastCount = 0;
    }
    lastCount++;
    onFrame(f);
  };

  const reuse: Reuse = { on: false };
  const raw = chunksOf(input, opts.chunkSize ?? 1 << 20, reuse);
  let source: AsyncIterator<Uint8Array> = raw;
  let gunzip: Gunzip | null = null;
  let decompressed = false;
  let parser: FormatParser | null = null;
  const carry = new Carry();
  /** offset (decompressed for gzip) of the first byte not yet consumed: carry.buf[0] when the carry holds bytes */
  let base = 0;

  const finish = () => {
    if (lastLt !== -2) ltCounts.set(lastLt, (ltCounts.get(lastLt) ?? 0) + lastCount);
    summary.frames = frames;
    summary.bytes = base;
    summary.linkTypes = [...ltCounts.entries()]
      .filter(([lt]) => lt !== -1)
      .map(([linkType, n]) => ({ linkType, name: linkTypeName(linkType), frames: n }));
    if (parser) {
      summary.format = parser.format;
      summary.byteOrder = parser.byteOrder;
      summary.interfaces = parser.interfaces;
      summary.secrets = parser.secrets;
      summary.readable = parser.headerDone;
    }
    return summary;
  };

  const feed = (p: FormatParser, chunk: Uint8Array): void => {
    let pos = 0;
    // finish the structure the carry holds, copying from the chunk only the bytes it still needs
    while (carry.length > 0 && pos < chunk.length) {
      const missing = p.pending(carry.buf, carry.view, 0, carry.length).need - carry.length;
      const take = Math.min(Math.max(missing, 1), chunk.length - pos);
      carry.append(chunk, pos, take);
      pos += take;
      const used = p.parse(carry.buf, carry.view, 0, carry.length, base);
      carry.drop(used);
      base += used;
    }
    if (pos === chunk.length) return;
    // the rest of the chunk in place; `base - pos` is the file offset of chunk[0]
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = p.parse(chunk, view, pos, chunk.length, base - pos);
    base += end - pos;
    if (end < chunk.length) carry.append(chunk, end, chunk.length - end);
  };

  try {
    // the first bytes decide: gzip, then the format (small chunks are gathered until there are enough)
    let head = await readHead(source, file, decompressed);
    if (head.length >= 2 && sniffMagic(head) === 'gzip') {
      summary.compression = 'gzip';
      decompressed = true;
      gunzip = gunzipOf(prepend(head, raw));
      source = (gunzip as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      head = await readHead(source, file, decompressed);
    }
    if (head.length < 4) {
      const what = decompressed ? 'gzip stream' : 'file';
      summary.error =
        head.length === 0
          ? new CaptureError({ code: 'empty', file, offset: 0, detail: decompressed ? 'gzip stream holds no data (0 bytes decompressed)' : 'empty file (0 bytes)', decompressed })
          : new CaptureError({
              code: 'truncated',
              file,
              offset: 0,
              detail: `${what} of ${head.length} byte${head.length === 1 ? '' : 's'} is too short for any capture header (at least 4 bytes of magic needed)`,
              need: 4,
              have: head.length,
              decompressed,
            });
      return finish();
    }
    const kind = sniffMagic(head);
    if (kind === null) {
      // not a binary capture: tcpdump's text output? (decided on the first 32 KiB)
      while (head.length < TEXT_SNIFF_BYTES) {
        const more = await nextChunk(source, file, head.length, decompressed);
        if (!more) break;
        head = concat(head, more);
      }
      if (looksLikeTcpdumpText(head)) {
        // each chunk copied: the file reader may reuse its buffers, and the stream may read ahead
        await readTextLines(Readable.from(copied(prepend(head, source))), summary, sink, opts);
        if (lastLt !== -2) ltCounts.set(lastLt, (ltCounts.get(lastLt) ?? 0) + lastCount);
        summary.frames = frames;
        summary.linkTypes = [...ltCounts.entries()].map(([linkType, n]) => ({ linkType, name: linkTypeName(linkType), frames: n }));
        return summary;
      }
    }
    if (kind === 'pcap') parser = new PcapParser(file, sink, decompressed);
    else if (kind === 'pcapng') {
      const ng = new PcapngParser(file, sink, decompressed);
      ng.onSecret = opts.onSecret ?? null;
      parser = ng;
    } else {
      summary.error = new CaptureError({ code: 'bad-magic', file, offset: 0, detail: describeMagic(head), decompressed });
      return finish();
    }
    let chunk: Uint8Array | null = head;
    // from here on only the parser reads the file's chunks, each before the next is pulled
    if (!decompressed) reuse.on = true;
    while (chunk) {
      feed(parser, chunk);
      opts.onProgress?.(base);
      if (opts.afterChunk) await opts.afterChunk();
      chunk = await nextChunk(source, file, base + carry.length, decompressed);
    }
    if (carry.length > 0) {
      const p = parser.pending(carry.buf, carry.view, 0, carry.length);
      summary.error = new CaptureError({
        code: 'truncated',
        file,
        offset: base,
        detail: `${decompressed ? 'decompressed data ends' : 'file ends'} inside a ${p.what}: ${p.need} bytes needed, ${carry.length} present (cut off mid-record)`,
        need: p.need,
        have: carry.length,
        decompressed,
      });
    }
  } catch (e) {
    if (!isCaptureError(e)) throw e;
    summary.error = e;
  } finally {
    if (gunzip) {
      // the pump then stops and returns `raw`, which closes the file; not awaited, so that a stream still
      // waiting for input (stdin) cannot hold us here
      gunzip.destroy();
    } else {
      await raw.return(undefined);
    }
  }
  return finish();
}

async function* copied(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of chunks) yield c.slice();
}

async function* prepend(head: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield head;
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await rest.return?.(undefined);
  }
}

/**
 * Decompress a gzip stream, pumping compressed chunks in as the output is read. Node's zlib drops the
 * output of a write that fails, so the 8-byte gzip trailer is held back and everything before it flushed
 * first: a bad CRC, or a stream cut short, then loses none of the data before the fault, whatever the
 * chunking.
 */
function gunzipOf(compressed: AsyncIterator<Uint8Array>): Gunzip {
  const gz = createGunzip();
  const TRAILER = 8;
  const write = async (b: Uint8Array) => {
    if (b.length > 0 && !gz.write(b)) await drainedOrClosed(gz);
  };
  (async () => {
    let tail: Uint8Array = new Uint8Array(0);
    try {
      for (;;) {
        const r = await compressed.next();
        if (gz.destroyed) return;
        if (r.done) break;
        let c = r.value;
        if (tail.length + c.length <= TRAILER) {
          tail = concat(tail, c);
          continue;
        }
        if (c.length < TRAILER) c = concat(tail, c);
        else await write(tail);
        // file chunks reach zlib as copies (reuse stays off for gzip): zlib may hold them past the next read
        await write(c.subarray(0, c.length - TRAILER));
        tail = copyBytes(c, c.length - TRAILER);
      }
      await new Promise<void>((resolve) => {
        gz.once('close', resolve);
        gz.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve());
      });
      if (!gz.destroyed) gz.end(tail);
    } catch (e) {
      gz.destroy(e as Error);
    } finally {
      await compressed.return?.(undefined);
    }
  })();
  return gz;
}

function drainedOrClosed(gz: Gunzip): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      gz.off('drain', done);
      gz.off('close', done);
      resolve();
    };
    gz.on('drain', done);
    gz.on('close', done);
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** the first bytes of `source`: 16 (enough to sniff and to show in a message), fewer only at its end */
const HEAD = 16;
async function readHead(source: AsyncIterator<Uint8Array>, file: string, decompressed: boolean): Promise<Uint8Array> {
  let head: Uint8Array | null = await nextChunk(source, file, 0, decompressed);
  if (!head) return new Uint8Array(0);
  // a short first chunk is gathered with the next ones: copy it first, pulling more may reuse its buffer
  if (head.length < HEAD) head = new Uint8Array(head);
  while (head.length < HEAD) {
    const more = await nextChunk(source, file, head.length, decompressed);
    if (!more) break;
    head = concat(head, more);
  }
  return head;
}

/** the next non-empty chunk, or null at the end; a read fault becomes a CaptureError at `offset` */
async function nextChunk(source: AsyncIterator<Uint8Array>, file: string, offset: number, decompressed: boolean): Promise<Uint8Array | null> {
  try {
    for (;;) {
      const r = await source.next();
      if (r.done) return null;
      if (r.value.length > 0) return r.value;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (decompressed && (err.code?.startsWith('Z_') || err.code === 'ERR_ZLIB_INITIALIZATION_FAILED')) {
      const detail =
        err.code === 'Z_BUF_ERROR'
          ? `gzip stream is cut short: the compressed data ends after ${offset} decompressed bytes, before the gzip trailer (truncated .gz file)`
          : `gzip stream is corrupt after ${offset} decompressed bytes (zlib: ${oneLine(err.message)})`;
      throw new CaptureError({ code: 'gzip', file, offset, detail, decompressed: true });
    }
    throw ioError(file, e, offset);
  }
}

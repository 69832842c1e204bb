/**
 * readCapture: pull chunks from a file, stdin or any byte stream, detect the format by magic (gzip
 * first), and feed a format parser. The next chunk is pulled only after every frame of the current one
 * has been handed to the consumer, so backpressure is the consumer's own pace. Memory is one chunk plus
 * at most one record carried across a chunk boundary.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CaptureError, isCaptureError } from '../errors.js';
import type { Frame } from './frame.js';
import { linkTypeName } from './linktypes.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapParser } from './pcap.js';
import { BT_SHB, PcapngParser } from './pcapng.js';
import type { DecryptionSecret, FormatParser, InterfaceInfo } from './parser.js';

export type CaptureFormat = 'pcap' | 'pcapng';

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
  const hex = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(b.subarray(0, 16), (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return `unknown file format: first bytes ${hex} ("${text}") are not a pcap, pcapng or gzip magic`;
}

async function* chunksOf(input: CaptureInput, chunkSize: number): AsyncGenerator<Uint8Array> {
  if (typeof input === 'string') {
    const stream = input === '-' ? process.stdin : fs.createReadStream(input, { highWaterMark: chunkSize });
    try {
      for await (const c of stream) yield c as Uint8Array;
    } finally {
      if (input !== '-') (stream as fs.ReadStream).destroy();
    }
    return;
  }
  for await (const c of input as AsyncIterable<Uint8Array>) yield typeof c === 'string' ? Buffer.from(c) : c;
}

function ioError(file: string, e: unknown, offset: number): CaptureError {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : (err.message ?? String(e));
  return new CaptureError({ code: 'io', file, offset, detail: `cannot read: ${why}` });
}

/**
 * Read a capture, calling `onFrame` for every frame with a reused Frame (valid during the call only).
 * Never throws for bad input: the fault is in the summary's `error`, with everything before it delivered.
 * Errors thrown by `onFrame` itself propagate.
 */
export async function readCapture(input: CaptureInput, onFrame: (f: Frame) => void, opts: ReadOptions = {}): Promise<CaptureSummary> {
  const file = opts.name ?? (typeof input === 'string' ? input : '-');
  const summary: CaptureSummary = {
    file,
    format: null,
    compression: null,
    byteOrder: null,
    interfaces: [],
    frames: 0,
    linkTypes: [],
    bytes: 0,
    secrets: [],
    error: null,
    readable: false,
  };
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

  let source: AsyncIterator<Uint8Array> = chunksOf(input, opts.chunkSize ?? 1 << 20)[Symbol.asyncIterator]();
  let parser: FormatParser | null = null;
  let carry: Uint8Array = new Uint8Array(0);
  let carryLen = 0;
  let base = 0;
  let decompressed = false;
  let gunzipped: Readable | null = null;

  const finish = () => {
    if (lastLt !== -2) ltCounts.set(lastLt, (ltCounts.get(lastLt) ?? 0) + lastCount);
    summary.frames = frames;
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

  try {
    // first chunk: decide on gzip, then on the format
    let first = await nextChunk(source, file, 0, false);
    if (first && sniffMagic(first) === 'gzip') {
      summary.compression = 'gzip';
      decompressed = true;
      const rest = source;
      const head = first;
      const raw = Readable.from(
        (async function* () {
          yield head;
          for (;;) {
            const r = await rest.next();
            if (r.done) return;
            yield r.value;
          }
        })(),
        { objectMode: false },
      );
      gunzipped = raw.pipe(createGunzip());
      raw.on('error', (e) => gunzipped?.destroy(e));
      source = (gunzipped as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      first = await nextChunk(source, file, 0, true);
    }
    if (!first || first.length === 0) {
      summary.error = new CaptureError({ code: 'empty', file, offset: 0, detail: decompressed ? 'gzip stream holds no data' : 'empty file (0 bytes)', decompressed });
      return finish();
    }
    let chunk: Uint8Array | null = first;
    while (chunk) {
      let buf: Uint8Array;
      let end: number;
      if (carryLen > 0) {
        if (carry.length < carryLen + chunk.length) {
          const grown = new Uint8Array(Math.max(carry.length * 2, carryLen + chunk.length));
          grown.set(carry.subarray(0, carryLen));
          carry = grown;
        }
        carry.set(chunk, carryLen);
        buf = carry;
        end = carryLen + chunk.length;
      } else {
        buf = chunk;
        end = chunk.length;
      }
      if (!parser) {
        if (end < 4) {
          // too few bytes yet to sniff: carry them
          carry = copyTail(carry, buf, 0, end);
          carryLen = end;
          chunk = await nextChunk(source, file, base + end, decompressed);
          continue;
        }
        const kind = sniffMagic(buf.subarray(0, 4));
        if (kind === 'pcap') parser = new PcapParser(file, sink, decompressed);
        else if (kind === 'pcapng') parser = new PcapngParser(file, sink, decompressed);
        else {
          summary.error = new CaptureError({ code: 'bad-magic', file, offset: 0, detail: describeMagic(buf.subarray(0, Math.min(end, 16))), decompressed });
          return finish();
        }
      }
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const consumed = parser.parse(buf, view, 0, end, base);
      base += consumed;
      summary.bytes = base;
      const left = end - consumed;
      if (left > 0) {
        if (buf === carry) carry.copyWithin(0, consumed, end);
        else carry = copyTail(carry, buf, consumed, end);
      }
      carryLen = left;
      opts.onProgress?.(base);
      if (opts.afterChunk) await opts.afterChunk();
      chunk = await nextChunk(source, file, base + carryLen, decompressed);
    }
    if (!parser) {
      summary.error = new CaptureError({
        code: carryLen === 0 ? 'empty' : 'truncated',
        file,
        offset: 0,
        detail: carryLen === 0 ? 'empty file (0 bytes)' : `file of ${carryLen} bytes is too short for any capture header`,
        need: 4,
        have: carryLen,
        decompressed,
      });
    } else if (carryLen > 0) {
      const view = new DataView(carry.buffer, carry.byteOffset, carry.byteLength);
      const p = parser.pending(carry, view, 0, carryLen);
      summary.error = new CaptureError({
        code: 'truncated',
        file,
        offset: base,
        detail: `file ends inside a ${p.what}: ${p.need} bytes needed, ${carryLen} present (cut off mid-record)`,
        need: p.need,
        have: carryLen,
        decompressed,
      });
    }
  } catch (e) {
    if (!isCaptureError(e)) throw e;
    summary.error = e;
  } finally {
    gunzipped?.destroy();
    await source.return?.(undefined);
  }
  return finish();
}

function copyTail(carry: Uint8Array, src: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  const dst = carry.length >= n ? carry : new Uint8Array(Math.max(n, 64 * 1024));
  dst.set(src.subarray(from, to));
  return dst;
}

async function nextChunk(source: AsyncIterator<Uint8Array>, file: string, offset: number, decompressed: boolean): Promise<Uint8Array | null> {
  try {
    const r = await source.next();
    return r.done ? null : r.value;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (decompressed || err.code?.startsWith('Z_') || err.code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
      throw new CaptureError({ code: 'gzip', file, offset, detail: `gzip stream is corrupt or cut short (${err.message})`, decompressed: true });
    }
    throw ioError(file, e, offset);
  }
}

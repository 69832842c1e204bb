/**
 * Expand the inputs a user names: files as given, directories walked recursively in a stable (sorted)
 * order, each file classified by its first bytes (capture magic or gzip), not by its name.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { sniffMagic } from './reader.js';
import { looksLikeTcpdumpText, TEXT_SNIFF_BYTES } from './tcpdump-text.js';

export interface InputEntry {
  /** the path as given on the command line */
  arg: string;
  /** the file's path (arg itself, or a file found under the directory arg) */
  path: string;
  /**
   * what the first bytes say (`text`: tcpdump's printout, by its content); `unreadable`: it exists but could
   * not be opened (the reader says why)
   */
  kind: 'capture' | 'gzip' | 'text' | 'other' | 'stdin' | 'missing' | 'unreadable';
}

const CAPTURE_EXT = /\.(pcap|pcapng|cap|gz|pcap\.gz|pcapng\.gz)$/i;

export function hasCaptureExtension(p: string): boolean {
  return CAPTURE_EXT.test(p);
}

async function classify(file: string): Promise<InputEntry['kind']> {
  let fh: fs.FileHandle | null = null;
  try {
    fh = await fs.open(file, 'r');
    const b = new Uint8Array(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    const kind = sniffMagic(b.subarray(0, bytesRead));
    if (kind === 'gzip') return 'gzip';
    if (kind) return 'capture';
    // tcpdump text is told by its first 32 KiB, as the reader tells it
    const head = new Uint8Array(TEXT_SNIFF_BYTES);
    const { bytesRead: n } = await fh.read(head, 0, TEXT_SNIFF_BYTES, 0);
    return n > 0 && looksLikeTcpdumpText(head.subarray(0, n)) ? 'text' : 'other';
  } catch (e) {
    return isMissing(e) ? 'missing' : 'unreadable';
  } finally {
    await fh?.close();
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    // a directory we may not list: hand it to the reader, which reports why it cannot be read
    out.push(dir);
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

export async function expandInputs(args: string[]): Promise<InputEntry[]> {
  const out: InputEntry[] = [];
  for (const arg of args) {
    if (arg === '-') {
      out.push({ arg, path: '-', kind: 'stdin' });
      continue;
    }
    let st;
    try {
      st = await fs.stat(arg);
    } catch (e) {
      out.push({ arg, path: arg, kind: isMissing(e) ? 'missing' : 'unreadable' });
      continue;
    }
    if (st.isDirectory()) {
      const files: string[] = [];
      await walk(arg, files);
      for (const f of files) out.push({ arg, path: f, kind: await classify(f) });
    } else out.push({ arg, path: arg, kind: await classify(arg) });
  }
  return out;
}

/**
 * The capture a tcpdump text was printed from, when it lies beside it: same directory, same name without
 * `.tcpdump.txt` / `.txt` (x.pcap.tcpdump.txt, x.txt beside x.pcap, x.pcapng, x.cap or x.pcap.gz).
 * `captures`: the capture paths of the run.
 */
export function captureBeside(textPath: string, captures: Set<string>): string | null {
  const base = textPath.replace(/(\.tcpdump)?\.txt$/i, '');
  if (base === textPath) return null;
  if (captures.has(base)) return base;
  for (const ext of ['.pcap', '.pcapng', '.cap', '.pcap.gz', '.pcapng.gz', '.cap.gz']) if (captures.has(base + ext)) return base + ext;
  return null;
}

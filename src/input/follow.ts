/**
 * Follow a capture file another process is still writing (`tcpdump -w`, with or without -U): read what is
 * there, then poll for growth. A record cut at the current end is simply not complete yet: the reader
 * waits for the rest like for any chunk boundary. The stream ends after `idleSec` seconds without growth,
 * or when `stop()` is called (Ctrl-C); only then is a cut record at the end a fault.
 */
import fs from 'node:fs';

export interface FollowOptions {
  /** seconds without growth that end the stream (default 10) */
  idleSec?: number;
  /** poll interval in ms (default 200) */
  pollMs?: number;
  /** read size (default 1 MiB) */
  chunkSize?: number;
}

export interface FollowedFile {
  stream: AsyncIterable<Uint8Array>;
  /** end the stream after the bytes already read (Ctrl-C) */
  stop(): void;
}

export function followFile(path: string, opts: FollowOptions = {}): FollowedFile {
  const idleMs = (opts.idleSec ?? 10) * 1000;
  const pollMs = opts.pollMs ?? 200;
  const chunkSize = opts.chunkSize ?? 1 << 20;
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((res) => {
      const t = setTimeout(() => {
        wake = null;
        res();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = null;
        res();
      };
    });
  async function* gen(): AsyncGenerator<Uint8Array> {
    // opening errors (no such file) surface through the reader as a one-line CaptureError
    const fh = await fs.promises.open(path, 'r');
    try {
      let pos = 0;
      let lastGrowth = Date.now();
      while (!stopped) {
        // a fresh buffer per chunk: the reader may keep a chunk it was given from a stream
        const buf = Buffer.allocUnsafe(chunkSize);
        const { bytesRead } = await fh.read(buf, 0, chunkSize, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          lastGrowth = Date.now();
          yield buf.subarray(0, bytesRead);
          continue;
        }
        const st = await fh.stat();
        // the file was truncated or replaced by a new capture: nothing sensible follows
        if (st.size < pos) return;
        if (Date.now() - lastGrowth >= idleMs) return;
        await sleep(Math.min(pollMs, Math.max(1, idleMs - (Date.now() - lastGrowth))));
      }
    } finally {
      await fh.close();
    }
  }
  return { stream: gen(), stop };
}

/**
 * A progress bar on stderr for long runs: bytes read of the total, MB/s and packets/s, over every input
 * (also those read in parallel by worker threads). Shown only when stderr is a terminal, the work is large
 * and the user did not ask for quiet; otherwise every call is a no-op.
 */
import { createRequire } from 'node:module';
import { redact } from './redact.js';

/** below this many bytes in all the run is over too soon for a bar to help */
export const PROGRESS_MIN_BYTES = 32 << 20;

export interface Progress {
  /** bytes read and packets seen so far in input `index` */
  update(index: number, bytes: number, packets: number): void;
  /** input `index` is done: count it as fully read */
  done(index: number, packets: number): void;
  /** a line for stderr, printed above the bar */
  log(line: string): void;
  stop(): void;
}

const NONE: Progress = {
  update() {},
  done() {},
  log(line) {
    process.stderr.write(redact(line));
  },
  stop() {},
};

export function createProgress(sizes: number[], opts: { quiet?: boolean; stream?: NodeJS.WriteStream; minBytes?: number } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const total = sizes.reduce((a, b) => a + b, 0);
  if (opts.quiet || !stream.isTTY || total < (opts.minBytes ?? PROGRESS_MIN_BYTES)) return NONE;
  const bytes = new Array<number>(sizes.length).fill(0);
  const packets = new Array<number>(sizes.length).fill(0);
  let sumBytes = 0;
  let sumPackets = 0;
  const t0 = Date.now();
  // loaded only when a bar is drawn (most runs have none: a pipe, a small capture)
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'ssmcap {bar} {percentage}% | {mb}/{totalMb} MB | {mbs} MB/s | {pps} packets/s | {done}/{files} files',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const mb = (b: number) => (b / 1e6).toFixed(0);
  const payload = () => {
    const sec = Math.max(0.001, (Date.now() - t0) / 1000);
    return { mb: mb(sumBytes), totalMb: mb(total), mbs: (sumBytes / 1e6 / sec).toFixed(1), pps: Math.round(sumPackets / sec).toLocaleString('en-US'), done: finished, files: sizes.length };
  };
  let finished = 0;
  bar.start(total, 0, payload());
  const set = (index: number, b: number, p: number) => {
    // gzip inputs count decompressed bytes: never past the file's size
    const nb = Math.min(b, sizes[index] ?? b);
    sumBytes += nb - bytes[index]!;
    bytes[index] = nb;
    sumPackets += p - packets[index]!;
    packets[index] = p;
    bar.update(sumBytes, payload());
  };
  return {
    update: set,
    done(index, p) {
      finished++;
      set(index, sizes[index] ?? 0, p);
    },
    log(line) {
      // clear the bar's line, print, and let the next redraw put the bar back
      stream.write('\r\x1b[K' + redact(line));
    },
    stop() {
      bar.stop();
    },
  };
}

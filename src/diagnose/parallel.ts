/**
 * Many captures at once: a pool of worker threads (node:worker_threads), one per core
 * (os.availableParallelism(), never more than there are files), each analysing one file at a time with
 * analyzeCapture. Results are structured-cloned back and returned in the order of `inputs` (the order a
 * serial run gives), whatever order the files finish in. A single input, or a pool of one, runs in this
 * thread: no worker. A worker that fails on one file reports it as that input's error; the others go on.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CaptureError, type CaptureErrorInit } from '../errors.js';
import { analyzeCapture, analyzePart, errorInit, Collector, finishAnalysis, keyBefore, type AnalyzeOptions, type CaptureAnalysis, type ConnectionResult, type Judged, type PartState } from './analyze.js';
import { ChecksumLedger } from './checksums.js';

/** what a worker needs to analyse one file: plain data only (it is structured-cloned) */
export interface JobOptions {
  port?: number;
  server?: { addr: string; port?: number };
  date?: string;
  maxConnections?: number;
  /** NSS key logs to decrypt TLS with (CAPTURE.keys beside a capture is read in any case) */
  keylog?: string[];
  /** forward each connection as it is judged (NDJSON streaming) */
  connections?: boolean;
  /** forward read progress (bytes) */
  progress?: boolean;
}

export interface ManyOptions extends JobOptions {
  /** worker threads (default os.availableParallelism()); 1: everything in this thread */
  workers?: number;
  /** each connection as it is judged, with the index of its input */
  onConnection?: (r: ConnectionResult, index: number) => void;
  /** bytes read and packets seen so far in the input at `index` */
  onProgress?: (index: number, bytes: number, packets: number) => void;
  /** share one capture's flows among the workers from this size on (default SHARD_MIN_BYTES) */
  shardMinBytes?: number;
  /** told when one capture was shared among `shards` workers, and whether it had to be read serially after all */
  onSharded?: (shards: number, serial: boolean) => void;
  /** an input's analysis, once it and every input before it are done (so calls come in input order) */
  onInput?: (a: CaptureAnalysis, index: number) => void;
}

/** messages from a worker */
export type WorkerMessage =
  | { type: 'connection'; index: number; r: ConnectionResult }
  | { type: 'progress'; index: number; bytes: number; packets: number }
  | { type: 'done'; index: number; analysis: Omit<CaptureAnalysis, 'error'>; error: CaptureErrorInit | null }
  | { type: 'failed'; index: number; message: string }
  // a shard of one capture (analyseSharded): its judged connections so far, and how far it got
  | { type: 'shard-batch'; shard: number; items: Judged[]; watermark: number }
  | { type: 'shard-done'; shard: number; items: Judged[]; part: PartState }
  | { type: 'shard-unroutable'; shard: number };

/** what a shard worker is started with */
export interface ShardJob extends JobOptions {
  shard: { index: number; count: number; path: string };
}

/** a capture at least this big is shared among the cores (smaller ones are done before the workers start) */
export const SHARD_MIN_BYTES = 32 * 1024 * 1024;
/** every shard reads and decodes the whole file: past a few, that cost outweighs the flows shared */
const MAX_SHARDS = 8;

/** the worker script beside this module (dist/diagnose/parallel-worker.js); absent when run from sources */
const WORKER_URL = new URL('./parallel-worker.js', import.meta.url);


/** an input whose analysis failed inside ssmcap itself: an input with its error, not a crash of the run */
function failedAnalysis(path: string, message: string): CaptureAnalysis {
  const error = new CaptureError({ code: 'io', file: path, offset: 0, detail: `internal error: ${message.replace(/\s+/g, ' ')}` });
  return {
    input: { path, format: null, compression: null, link_types: [], packets: 0, bytes: 0, error: error.toJSON() as CaptureAnalysis['input']['error'], readable: false, connections_total: 0, connections_omitted: 0, unanswered_neighbors: [] },
    servers: [],
    connections: [],
    checksums: [],
    error,
  };
}

function jobOptions(o: ManyOptions): JobOptions {
  return { port: o.port, server: o.server, date: o.date, maxConnections: o.maxConnections, keylog: o.keylog, connections: !!o.onConnection, progress: !!o.onProgress };
}

/** one file in this thread */
export async function analyzeOne(path: string, job: JobOptions, post: (m: WorkerMessage) => void, index: number): Promise<void> {
  const opts: AnalyzeOptions = { port: job.port, server: job.server, date: job.date, maxConnections: job.maxConnections, keylog: job.keylog };
  if (job.connections) opts.onConnection = (r) => post({ type: 'connection', index, r });
  if (job.progress) {
    let last = 0;
    opts.onReadProgress = (bytes, packets) => {
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        post({ type: 'progress', index, bytes, packets });
      }
    };
  }
  try {
    const a = await analyzeCapture(path, opts);
    const { error, ...rest } = a;
    post({ type: 'done', index, analysis: rest, error: errorInit(error) });
  } catch (e) {
    post({ type: 'failed', index, message: (e as Error)?.message ?? String(e) });
  }
}

/** a shard of one capture, in a worker: its flows' connections go to the main thread in batches, in key order */
export async function analyzeShardJob(job: ShardJob, post: (m: WorkerMessage) => void): Promise<void> {
  const { index, count, path } = job.shard;
  const opts: AnalyzeOptions = { port: job.port, server: job.server, date: job.date, maxConnections: job.maxConnections, keylog: job.keylog };
  // streamed connections are built in full whether listed or not (the main thread streams them)
  if (job.connections) opts.onConnection = () => {};
  if (job.progress && index === 0) {
    let last = 0;
    opts.onReadProgress = (bytes, packets) => {
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        post({ type: 'progress', index: 0, bytes, packets });
      }
    };
  }
  let items: Judged[] = [];
  let watermark = -1;
  let unroutable = false;
  try {
    const { part } = await analyzePart(path, opts, {
      index,
      count,
      onJudged: (x) => {
        items.push(x);
        if (items.length >= 512) {
          post({ type: 'shard-batch', shard: index, items, watermark });
          items = [];
        }
      },
      onWatermark: (frame) => {
        watermark = frame;
        post({ type: 'shard-batch', shard: index, items, watermark });
        items = [];
      },
      onUnroutable: () => {
        if (!unroutable) post({ type: 'shard-unroutable', shard: index });
        unroutable = true;
      },
    });
    post({ type: 'shard-done', shard: index, items, part });
  } catch (e) {
    post({ type: 'failed', index: 0, message: (e as Error)?.message ?? String(e) });
  }
}

/** a file that starts like a pcap or pcapng capture (tcpdump text and compressed files are read whole by one thread) */
function shardable(path: string, minBytes: number): boolean {
  try {
    const st = fs.statSync(path);
    if (!st.isFile() || st.size < minBytes) return false;
    const fd = fs.openSync(path, 'r');
    const b = Buffer.alloc(4);
    try {
      fs.readSync(fd, b, 0, 4, 0);
    } finally {
      fs.closeSync(fd);
    }
    const m = b.readUInt32LE(0);
    return m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1 || m === 0x0a0d0d0a;
  } catch {
    return false;
  }
}

/** what analyzeSharded needs of a shard's thread (a Worker is one) */
export interface ShardThread {
  on(event: 'message', f: (m: WorkerMessage) => void): unknown;
  on(event: 'error', f: (e: Error) => void): unknown;
  on(event: 'exit', f: (code: number) => void): unknown;
  terminate(): unknown;
}
/** starts one shard: a worker thread running parallel-worker.js (tests run shards in their own thread through this) */
export type StartShard = (job: ShardJob) => ShardThread;
const startShardWorker: StartShard = (job) => new Worker(WORKER_URL, { workerData: job });

/**
 * One capture, its flows shared among `count` worker threads by a hash of their endpoints (as a NIC's
 * receive-side scaling does): each worker reads and decodes the whole file (frame numbers and the clock
 * stay the capture's) and tracks and judges only its flows; this thread merges their judged connections
 * in the order a serial run judges them, so the analysis is the serial one. Null when it cannot be done
 * that way (an ICMP error whose quote stops before the ports names no flow; a worker failed): the caller
 * analyses the capture in one thread.
 */
export async function analyzeSharded(path: string, opts: ManyOptions, count: number, start: StartShard = startShardWorker): Promise<{ analysis: CaptureAnalysis | null; streamed: number }> {
  const job = jobOptions(opts);
  const onConnection = opts.onConnection;
  const collector = new Collector(path, opts.maxConnections ?? 1000, onConnection ? (r) => onConnection(r, 0) : undefined);
  const queues: Judged[][] = Array.from({ length: count }, () => []);
  const heads = new Array<number>(count).fill(0);
  const marks = new Array<number>(count).fill(-1);
  const parts: (PartState | undefined)[] = new Array(count);
  const workers: ShardThread[] = [];
  /** hand over every connection no shard can still precede */
  const pump = () => {
    for (;;) {
      let best = -1;
      for (let i = 0; i < count; i++) if (heads[i]! < queues[i]!.length && (best < 0 || keyBefore(queues[i]![heads[i]!]!, queues[best]![heads[best]!]!))) best = i;
      if (best < 0) return;
      const x = queues[best]![heads[best]!]!;
      for (let i = 0; i < count; i++) if (i !== best && heads[i]! >= queues[i]!.length && marks[i]! < x.frame) return;
      heads[best]!++;
      if (heads[best]! > 4096) {
        queues[best]!.splice(0, heads[best]!);
        heads[best] = 0;
      }
      collector.take(x);
    }
  };
  const ok = await new Promise<boolean>((resolve) => {
    let finished = 0;
    let settled = false;
    const fail = () => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      resolve(false);
    };
    for (let index = 0; index < count; index++) {
      const w = start({ ...job, shard: { index, count, path } });
      workers.push(w);
      w.on('message', (m: WorkerMessage) => {
        if (settled) return;
        try {
          if (m.type === 'shard-batch' || m.type === 'shard-done') {
            for (const x of m.items) queues[m.shard]!.push(x);
            if (m.type === 'shard-batch') marks[m.shard] = m.watermark;
            else {
              marks[m.shard] = Infinity;
              parts[m.shard] = m.part;
              finished++;
            }
            pump();
            if (finished === count) {
              settled = true;
              for (const x of workers) void x.terminate();
              resolve(true);
            }
          } else if (m.type === 'progress') opts.onProgress?.(0, m.bytes, m.packets);
          else if (m.type === 'shard-unroutable' || m.type === 'failed') fail();
        } catch {
          fail();
        }
      });
      w.on('error', fail);
      // a shard's worker ends by itself once it posted its part; before that, an exit is a failure
      w.on('exit', () => {
        if (!settled && parts[index] === undefined) fail();
      });
    }
  });
  // the connections handed over so far are the first ones a serial run judges (a shard stops at the
  // packet it cannot route, and nothing at or past it was handed over): a serial run goes on from there
  if (!ok) return { analysis: null, streamed: collector.judged };
  const all = parts as PartState[];
  const head = all[0]!;
  const analysis = finishAnalysis(collector, all, { port: opts.port, server: opts.server }, ChecksumLedger.merged(all.map((p) => p.checksums)).summarize(), head.error ? new CaptureError(head.error) : null);
  return { analysis, streamed: collector.judged };
}

export async function analyzeMany(inputs: string[], opts: ManyOptions = {}): Promise<CaptureAnalysis[]> {
  const results: (CaptureAnalysis | undefined)[] = new Array(inputs.length);
  let nextOut = 0;
  const settle = (index: number, a: CaptureAnalysis) => {
    results[index] = a;
    while (nextOut < inputs.length && results[nextOut]) {
      opts.onInput?.(results[nextOut]!, nextOut);
      nextOut++;
    }
  };
  const handle = (m: WorkerMessage) => {
    if (m.type === 'connection') opts.onConnection?.(m.r, m.index);
    else if (m.type === 'progress') opts.onProgress?.(m.index, m.bytes, m.packets);
    else if (m.type === 'done') settle(m.index, { ...m.analysis, error: m.error ? new CaptureError(m.error) : null });
    else if (m.type === 'failed') settle(m.index, failedAnalysis(inputs[m.index]!, m.message));
  };
  const size = Math.max(1, Math.min(opts.workers ?? os.availableParallelism(), inputs.length));
  const job = jobOptions(opts);
  // one big capture: its flows shared among the cores (the same analysis as one thread's). The main
  // thread merges what the shards judged: it needs a core of its own, so by default only from 4 cores
  // on (measured on 2 vCPUs: two shards and the merge are slower than one thread); --jobs N asks for N shards
  const cores = opts.workers ?? (os.availableParallelism() >= 4 ? os.availableParallelism() - 1 : 1);
  if (inputs.length === 1 && cores > 1 && fs.existsSync(WORKER_URL) && shardable(inputs[0]!, opts.shardMinBytes ?? SHARD_MIN_BYTES)) {
    const shards = Math.min(cores, MAX_SHARDS);
    const { analysis, streamed } = await analyzeSharded(inputs[0]!, opts, shards);
    opts.onSharded?.(shards, !analysis);
    if (analysis) {
      opts.onInput?.(analysis, 0);
      return [analysis];
    }
    // not possible after all: one thread, from the start; the connections already streamed are its first ones
    let skip = streamed;
    const onConnection = opts.onConnection;
    if (onConnection && skip > 0) opts = { ...opts, onConnection: (r, i) => (skip > 0 ? skip-- : onConnection(r, i)) };
  }
  // stdin cannot be read by a worker; and from the sources (tests) there is no compiled worker script
  if (size === 1 || inputs.includes('-') || !fs.existsSync(WORKER_URL)) {
    for (let i = 0; i < inputs.length; i++) await analyzeOne(inputs[i]!, job, handle, i);
    return results as CaptureAnalysis[];
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, () =>
      new Promise<void>((resolve) => {
        const w = new Worker(WORKER_URL, { workerData: job });
        let current = -1;
        const give = () => {
          if (next >= inputs.length) {
            current = -1;
            void w.terminate().then(() => resolve());
            return;
          }
          current = next++;
          w.postMessage({ index: current, path: inputs[current] });
        };
        w.on('message', (m: WorkerMessage) => {
          handle(m);
          if (m.type === 'done' || m.type === 'failed') give();
        });
        w.on('error', (e) => {
          // the worker itself died (out of memory, a bug): its file is an input with the error, the rest go on
          if (current >= 0) handle({ type: 'failed', index: current, message: e.message });
          current = -1;
        });
        w.on('exit', () => {
          if (current >= 0) handle({ type: 'failed', index: current, message: 'worker exited' });
          // the files not yet given out are taken by the other workers (or this thread if none is left)
          resolve();
        });
        give();
      }),
    ),
  );
  // files left over because every worker died: this thread
  for (let i = 0; i < inputs.length; i++) if (!results[i]) await analyzeOne(inputs[i]!, job, handle, i);
  return results as CaptureAnalysis[];
}

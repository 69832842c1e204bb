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
import { analyzeCapture, type AnalyzeOptions, type CaptureAnalysis, type ConnectionResult } from './analyze.js';

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
  /** an input's analysis, once it and every input before it are done (so calls come in input order) */
  onInput?: (a: CaptureAnalysis, index: number) => void;
}

/** messages from a worker */
export type WorkerMessage =
  | { type: 'connection'; index: number; r: ConnectionResult }
  | { type: 'progress'; index: number; bytes: number; packets: number }
  | { type: 'done'; index: number; analysis: Omit<CaptureAnalysis, 'error'>; error: CaptureErrorInit | null }
  | { type: 'failed'; index: number; message: string };

/** the worker script beside this module (dist/diagnose/parallel-worker.js); absent when run from sources */
const WORKER_URL = new URL('./parallel-worker.js', import.meta.url);

export function errorInit(e: CaptureError | null): CaptureErrorInit | null {
  return e ? { code: e.code, file: e.file, offset: e.offset, detail: e.detail, need: e.need, have: e.have, decompressed: e.decompressed } : null;
}

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
    else settle(m.index, failedAnalysis(inputs[m.index]!, m.message));
  };
  const size = Math.max(1, Math.min(opts.workers ?? os.availableParallelism(), inputs.length));
  const job = jobOptions(opts);
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

/** A worker thread of the parallel pool (parallel.ts): analyses the files it is given, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeOne, type JobOptions, type WorkerMessage } from './parallel.js';

const job = workerData as JobOptions;
const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);
port.on('message', (m: { index: number; path: string }) => {
  void analyzeOne(m.path, job, post, m.index);
});

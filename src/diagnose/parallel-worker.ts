/** A worker thread of the parallel pool (parallel.ts): analyses the files it is given, one at a time, or one shard of one capture. */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeOne, analyzeShardJob, type JobOptions, type ShardJob, type WorkerMessage } from './parallel.js';

const job = workerData as JobOptions | ShardJob;
const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);
// a shard of one capture starts at once; a pool worker waits for files
if ('shard' in job) void analyzeShardJob(job, post);
else
  port.on('message', (m: { index: number; path: string }) => {
    void analyzeOne(m.path, job, post, m.index);
  });

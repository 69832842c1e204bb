import { analyzeMany, type ManyOptions } from '../../src/diagnose/parallel.js';
import { buildReport, writeReportJson } from '../../src/report/analysis.js';

/**
 * `ssmcap analyze FILES --format json` made in this process, as the CLI makes it for files named on the
 * command line (no directories, no --log): analyzeMany with the CLI's defaults (from the sources it reads
 * in this thread: there is no compiled worker beside them), buildReport, writeReportJson. No process start
 * (~0.4 s each); test/schema.test.ts checks it is byte for byte what the CLI prints.
 */
export async function analyzeJsonHere(files: string[], opts: ManyOptions = {}): Promise<string> {
  const analyses = await analyzeMany(files, { port: 8443, maxConnections: 1000, ...opts });
  let out = '';
  writeReportJson(buildReport(analyses, '0.1.0'), (t) => void (out += t));
  return out;
}

/**
 * Live comparison with the tshark installed on this machine, on the bundled SSM captures (which have no
 * stored tshark reference): the same command as test/corpus/ref/TSHARK_VERSION, field for field.
 * Skipped, with a message, where tshark is not installed; .ci/run installs it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { differences, ssmcapRows, type Table } from './helpers/tshark.js';
import { ROOT } from './helpers/cli.js';

const FIELDS = ['frame.number', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'eth.type', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.proto', 'tcp.srcport', 'tcp.dstport', 'tcp.seq', 'tcp.ack', 'tcp.flags', 'tcp.len', 'tcp.checksum', 'tcp.checksum.status', 'tcp.stream', 'icmp.type', 'icmp.code'];

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const haveTshark = tshark.status === 0;
if (!haveTshark) console.warn('tshark-live: tshark is not installed: skipping the live comparison (.ci/run installs it)');

const execFileAsync = promisify(execFile);
const dir = path.join(ROOT, 'captures');
const captures = fs.readdirSync(dir).filter((f) => f.endsWith('.pcap'));

async function tsharkTable(file: string): Promise<Table> {
  const args = ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.relative_sequence_numbers:FALSE', '-T', 'fields', '-E', 'header=y', '-E', 'separator=/t', ...FIELDS.flatMap((f) => ['-e', f])];
  const { stdout: out } = await execFileAsync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = out.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { columns: lines[0]!.split('\t'), rows: lines.slice(1).map((l) => l.split('\t')) };
}

describe.skipIf(!haveTshark)(`ssmcap agrees with the installed ${haveTshark ? tshark.stdout.split('\n')[0] : 'tshark'} on the SSM captures`, () => {
  // tshark's start-up is most of each case (~0.5 s): the cases run at once (vitest's maxConcurrency)
  it.concurrent.for(captures)('%s', async (name, { expect }) => {
    const file = path.join(dir, name);
    const ref = await tsharkTable(file);
    const { rows, error } = await ssmcapRows(file, ref.columns);
    expect(error).toBeNull();
    expect(rows.length).toBe(ref.rows.length);
    expect(differences(ref, rows)).toEqual([]);
  });
});

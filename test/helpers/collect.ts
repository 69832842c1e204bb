import { Decoder, readCapture, TcpStreamIndex, type Packet } from '../../src/index.js';
import type { CaptureSummary } from '../../src/input/reader.js';

/** read a capture and map every decoded frame through `pick` (which must copy what it keeps) */
export async function collect<T>(file: string, pick: (p: Packet, tcpStream: number) => T): Promise<{ rows: T[]; summary: CaptureSummary }> {
  const d = new Decoder();
  const streams = new TcpStreamIndex();
  const rows: T[] = [];
  const summary = await readCapture(file, (f) => {
    const p = d.decode(f);
    rows.push(pick(p, p.isTcp ? streams.index(p) : -1));
  });
  return { rows, summary };
}

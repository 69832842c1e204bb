/**
 * The NDJSON encoder skips a layer's fields with one check (LAYER_GUARDS): that is only right when no
 * field of the layer has a value on a frame whose guard is false. Checked on the synthetic capture and on
 * every capture of the corpus.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../src/bench/generate.js';
import { Decoder } from '../src/decode/packet.js';
import { TcpStreamIndex } from '../src/flow/stream-index.js';
import { readCapture } from '../src/input/reader.js';
import { FIELDS, LAYER_GUARDS, type FieldContext } from '../src/report/fields.js';

const root = path.join(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-layers-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('a field of a layer whose guard is false has no value', async () => {
  const synthetic = path.join(dir, 's.pcap');
  await writeSyntheticCapture(synthetic, { packets: 3000, seed: 5 });
  const files = [synthetic];
  for (const d of [path.join(root, 'captures'), path.join(root, 'test', 'corpus')]) {
    if (fs.existsSync(d)) for (const f of fs.readdirSync(d)) if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(f)) files.push(path.join(d, f));
  }
  const layered = FIELDS.filter((f) => f.layer);
  expect(layered.length).toBeGreaterThan(30);
  const seen = new Map<string, number>();
  for (const file of files) {
    const d = new Decoder();
    const streams = new TcpStreamIndex();
    const ctx: FieldContext = { tcpStream: -1, quotedTcpStream: -1 };
    await readCapture(file, (frame) => {
      const p = d.decode(frame);
      ctx.tcpStream = p.isTcp ? streams.index(p) : -1;
      ctx.quotedTcpStream = streams.quotedIndex(p);
      for (const f of layered) {
        const v = f.json(p, ctx);
        if (v !== undefined) seen.set(f.layer!, (seen.get(f.layer!) ?? 0) + 1);
        if (!LAYER_GUARDS[f.layer!](p)) expect(v, `${path.basename(file)} frame ${frame.number} ${f.name}`).toBeUndefined();
      }
    });
  }
  // every layer had values somewhere, so the check saw each guard both ways
  expect([...seen.keys()].sort()).toEqual(Object.keys(LAYER_GUARDS).sort());
});

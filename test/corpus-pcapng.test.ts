/**
 * The pcapng conformance files of hadrielk/pcapng-test-generator (test/corpus/ng__*.pcapng) against the
 * generator's own description of each (its block sequence) and the corpus MANIFEST (byte order of each
 * section, link types): ssmcap must deliver one packet frame per EPB, SPB or PB and one custom frame per
 * CB or DCB, in file order, each with the link type of its own section's interface.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../src/index.js';

const CORPUS = path.join(import.meta.dirname, 'corpus');

const PACKET_BLOCKS = new Set(['EPB', 'SPB', 'PB']);
const CUSTOM_BLOCKS = new Set(['CB', 'DCB']);

function blockSequence(capture: string): string[] {
  const text = fs.readFileSync(path.join(CORPUS, `${capture}.description.txt`), 'utf8');
  const m = /^Block sequence: (.*)$/m.exec(text);
  if (!m) throw new Error(`${capture}: no block sequence in its description`);
  return m[1]!.split(',').map((s) => s.trim());
}

/** MANIFEST.tsv rows by file name */
function manifest(): Map<string, Record<string, string>> {
  const lines = fs.readFileSync(path.join(CORPUS, 'MANIFEST.tsv'), 'utf8').trimEnd().split('\n');
  const head = lines[0]!.split('\t');
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(1)) {
    const cells = line.split('\t');
    rows.set(cells[0]!, Object.fromEntries(head.map((h, i) => [h, cells[i] ?? ''])));
  }
  return rows;
}

const MANIFEST = manifest();
const captures = fs
  .readdirSync(CORPUS)
  .filter((f) => f.startsWith('ng__') && f.endsWith('.pcapng'))
  .sort();

interface Seen {
  kind: string;
  linkType: number;
  hasTime: boolean;
}

describe('pcapng test-generator files agree with their descriptions', () => {
  it('has the files', () => {
    expect(captures.length).toBeGreaterThanOrEqual(9);
  });

  it.each(captures)('%s', async (capture) => {
    const seq = blockSequence(capture);
    const row = MANIFEST.get(capture);
    expect(row, `${capture} in MANIFEST.tsv`).toBeDefined();

    const seen: Seen[] = [];
    const summary = await readCapture(path.join(CORPUS, capture), (f) => seen.push({ kind: f.kind, linkType: f.linkType, hasTime: f.hasTime }));
    expect(summary.error).toBeNull();
    expect(summary.format).toBe('pcapng');

    // one frame per packet or custom block, in the file's order
    const frameBlocks = seq.filter((b) => PACKET_BLOCKS.has(b) || CUSTOM_BLOCKS.has(b));
    expect(seen.map((s) => s.kind)).toEqual(frameBlocks.map((b) => (CUSTOM_BLOCKS.has(b) ? 'custom' : 'packet')));
    expect(summary.frames).toBe(frameBlocks.length);
    // a Simple Packet Block and a custom block carry no timestamp; the others do
    expect(seen.map((s) => s.hasTime)).toEqual(frameBlocks.map((b) => b === 'EPB' || b === 'PB'));

    // every interface, in every section
    const sections = seq.filter((b) => b === 'SHB').length;
    const idbSections: number[] = [];
    let section = -1;
    for (const b of seq) {
      if (b === 'SHB') section++;
      else if (b === 'IDB') idbSections.push(section);
    }
    expect(summary.interfaces.map((i) => i.section)).toEqual(idbSections);

    // byte order of the sections, as the MANIFEST's own header walker saw them: SHB[BE v1.0,LE v1.0,...]
    const orders = [...row!.format!.matchAll(/\b(LE|BE) v1\.\d/g)].map((m) => m[1]!.toLowerCase());
    expect(orders.length).toBe(sections);
    expect(summary.byteOrder).toBe(new Set(orders).size > 1 ? 'mixed' : orders[0]);

    // link types: those the MANIFEST lists, e.g. "1(EN10MB),0(NULL)", on the interfaces and the packets
    const listed = [...row!.linktypes!.matchAll(/(\d+)\(/g)].map((m) => Number(m[1]));
    expect([...new Set(summary.interfaces.map((i) => i.linkType))].sort()).toEqual([...new Set(listed)].sort());
    for (const s of seen) if (s.kind === 'packet') expect(listed).toContain(s.linkType);
  });

  it('a file of sections in different byte orders gives each packet its own section interface', async () => {
    // ng__be__test202: section 1 (BE) has IDBs 0, 1; section 2 (LE) has IDB 0; section 3 (BE) has IDBs 0, 1
    const perFrame: { id: number; linkType: number }[] = [];
    const summary = await readCapture(path.join(CORPUS, 'ng__be__test202.pcapng'), (f) => {
      if (f.kind === 'packet') perFrame.push({ id: f.interfaceId, linkType: f.linkType });
    });
    expect(summary.byteOrder).toBe('mixed');
    expect(summary.interfaces.map((i) => i.section)).toEqual([0, 0, 1, 2, 2]);
    // each packet's link type is that of the interface it names in its section
    const bySection = [0, 0, 0, 1, 1, 1, 2, 2]; // EPB EPB EPB | SPB EPB SPB EPB | EPB, from the block sequence
    expect(perFrame.length).toBe(bySection.length);
    perFrame.forEach((f, i) => {
      const ifc = summary.interfaces.find((x) => x.section === bySection[i] && x.id === f.id);
      expect(ifc, `frame ${i + 1}`).toBeDefined();
      expect(f.linkType).toBe(ifc!.linkType);
    });
  });
});

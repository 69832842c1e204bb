/**
 * The corpus captures tshark 4.0.17 refuses (ref/<capture>.error.txt): readCapture never throws for
 * them, but returns a CaptureError that names the file and a byte offset, delivers the frames before the
 * fault, and gives the reason tshark gives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureError, readCapture, type CaptureErrorCode } from '../src/index.js';

const CORPUS = path.join(import.meta.dirname, 'corpus');
const REF = path.join(CORPUS, 'ref');

interface Expected {
  /** the part of tshark's message in the ref that states the reason */
  tshark: string;
  code: CaptureErrorCode;
  /** ssmcap's words for the same reason */
  ssmcap: RegExp;
  /** where the fault is: the field tshark complains about */
  offset: number;
}

const EXPECTED: Record<string, Expected> = {
  'lp__pcap-invalid-version-1.pcap': {
    tshark: 'pcap: major version 1 unsupported',
    code: 'bad-version',
    ssmcap: /major version 1 unsupported/,
    offset: 4, // the file header's major version
  },
  'lp__linktype-reserved-field-not-zero.pcap': {
    tshark: 'pcap: network type reserved field not zero (0x00300000)',
    code: 'bad-linktype',
    ssmcap: /0x00300000 has reserved bits/,
    offset: 20, // the file header's link-type field
  },
  'lp__pcapng-invalid-vers-1.pcapng': {
    tshark: 'pcapng: unknown SHB version 0.1',
    code: 'bad-version',
    ssmcap: /unknown pcapng Section Header Block version 0\.1/,
    offset: 12, // the SHB's major version
  },
  'lp__shb-option-too-long.pcapng': {
    tshark: 'pcapng: Not enough data to handle option of length 12336',
    code: 'bad-block',
    ssmcap: /Section Header Block option \d+ of length 12336 overruns its block/,
    offset: 24, // the SHB's first option
  },
};

const errorRefs = fs
  .readdirSync(REF)
  .filter((f) => f.endsWith('.error.txt'))
  .map((f) => f.slice(0, -'.error.txt'.length))
  .sort();

describe('captures tshark refuses give a clean CaptureError', () => {
  it('every error ref is described here, and only those', () => {
    expect(errorRefs.length).toBeGreaterThan(0);
    expect(Object.keys(EXPECTED).sort()).toEqual(errorRefs);
  });

  it.each(errorRefs)('%s', async (capture) => {
    const want = EXPECTED[capture]!;
    // the reason we claim is tshark's is in tshark's own output
    expect(fs.readFileSync(path.join(REF, `${capture}.error.txt`), 'utf8')).toContain(want.tshark);

    const file = path.join(CORPUS, capture);
    const offsets: number[] = [];
    const summary = await readCapture(file, (f) => offsets.push(f.fileOffset));
    const err = summary.error;
    expect(err).toBeInstanceOf(CaptureError);
    expect(err!.code).toBe(want.code);
    expect(err!.file).toBe(file);
    expect(err!.offset).toBe(want.offset);
    expect(err!.offset).toBeLessThan(fs.statSync(file).size);
    expect(err!.message).toContain(file);
    expect(err!.message).toContain(`byte ${want.offset}`);
    expect(err!.message).toMatch(want.ssmcap);
    // the frames before the fault are delivered, none after it
    expect(summary.frames).toBe(offsets.length);
    for (const o of offsets) expect(o).toBeLessThan(err!.offset);
  });

  it('the same fault from a stream names the stream and gives the same offset', async () => {
    const bytes = fs.readFileSync(path.join(CORPUS, 'lp__shb-option-too-long.pcapng'));
    // one byte per chunk: the fault must not depend on where chunks end
    const chunks = (async function* () {
      for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
    })();
    const summary = await readCapture(chunks, () => {}, { name: 'stdin-capture' });
    expect(summary.error?.code).toBe('bad-block');
    expect(summary.error?.offset).toBe(24);
    expect(summary.error?.message).toContain('stdin-capture');
  });

  it('reads pcap version 2.5 as tshark does (libpcap refuses it; tshark has a ref for it)', async () => {
    const file = path.join(CORPUS, 'lp__pcap-invalid-version-2.pcap');
    const bytes = fs.readFileSync(file);
    expect(bytes.readUInt16LE(4)).toBe(2);
    expect(bytes.readUInt16LE(6)).toBe(5);
    expect(fs.existsSync(path.join(REF, 'lp__pcap-invalid-version-2.pcap.tshark.tsv'))).toBe(true);
    let frames = 0;
    const summary = await readCapture(file, () => frames++);
    expect(summary.error).toBeNull();
    expect(summary.format).toBe('pcap');
    expect(frames).toBe(1);
  });
});

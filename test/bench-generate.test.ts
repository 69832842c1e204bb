import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLOAD_HOST, SERVER_PORT, writeSyntheticCapture, type SyntheticSummary } from '../src/bench/generate.js';
import { Decoder } from '../src/decode/packet.js';
import { readCapture } from '../src/input/reader.js';

// The bench's synthetic capture: a valid pcap whose checksums are right where intended and carry the
// offload pattern where intended, byte for byte the same for a seed. No timing here.

let dir: string;
let file: string;
let summary: SyntheticSummary;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssmcap-gen-'));
  file = path.join(dir, 'a.pcap');
  summary = await writeSyntheticCapture(file, { packets: 2000, seed: 7 });
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('writeSyntheticCapture', () => {
  it('writes a pcap of the asked number of packets, the size it reports', async () => {
    expect(summary.packets).toBe(2000);
    expect(fs.statSync(file).size).toBe(summary.bytes);
    const head = fs.readFileSync(file).subarray(0, 24);
    expect(head.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(head.readUInt16LE(4)).toBe(2);
    expect(head.readUInt32LE(20)).toBe(1); // Ethernet
    const s = await readCapture(file, () => {});
    expect(s.error).toBeNull();
    expect(s.format).toBe('pcap');
    expect(s.frames).toBe(2000);
    expect(s.bytes).toBe(summary.bytes);
  });

  it('decodes with correct checksums, and the offload pattern only from the capturing host', async () => {
    const d = new Decoder();
    const seen = { tcp: 0, offload: 0, udp: 0, v6: 0, vlan: 0, to8443: 0, syn: 0, rst: 0, ipv4: 0, bigPayload: 0, stops: 0 };
    const problems: string[] = [];
    await readCapture(file, (f) => {
      const p = d.decode(f);
      if (p.stopLayer) seen.stops++;
      if (p.vlanCount > 0) seen.vlan++;
      if (p.ipVersion === 6) seen.v6++;
      if (p.ipVersion === 4) {
        seen.ipv4++;
        if (p.ipChecksumStatus !== 'good') problems.push(`frame ${f.number}: ip checksum ${p.ipChecksumStatus}`);
      }
      if (p.isTcp) {
        seen.tcp++;
        if (p.dstPort === SERVER_PORT) seen.to8443++;
        if (p.tcpFlags & 0x02) seen.syn++;
        if (p.tcpFlags & 0x04) seen.rst++;
        if (p.tcpLen > 1000) seen.bigPayload++;
        expect(p.tcpLen).toBeLessThanOrEqual(1448);
        const fromCaptureHost = p.src() === OFFLOAD_HOST;
        const want = fromCaptureHost ? 'partial' : 'good';
        if (p.tcpChecksumStatus !== want) problems.push(`frame ${f.number}: tcp checksum ${p.tcpChecksumStatus}, want ${want}`);
        if (p.tcpChecksumOffload !== fromCaptureHost) problems.push(`frame ${f.number}: offload ${p.tcpChecksumOffload}`);
        if (fromCaptureHost) seen.offload++;
        if (p.tcpFlags & 0x02) {
          expect(p.tcpMss).toBeGreaterThan(0);
          expect(p.tcpWscale).toBeGreaterThanOrEqual(0);
          expect(p.tcpSackPerm).toBe(true);
          expect(p.tcpTsVal).toBeGreaterThanOrEqual(0);
        }
      }
      if (p.transport === 17) {
        seen.udp++;
        if (p.udpChecksumStatus !== 'good') problems.push(`frame ${f.number}: udp checksum ${p.udpChecksumStatus}`);
      }
    });
    expect(problems).toEqual([]);
    expect(seen.stops).toBe(0);
    expect(seen.tcp).toBe(summary.tcpSegments);
    expect(seen.offload).toBe(summary.tcpOffload);
    expect(seen.udp).toBe(summary.udp);
    expect(seen.v6).toBe(summary.ipv6);
    expect(seen.vlan).toBe(summary.vlan);
    // the mix the bench relies on is there
    expect(seen.offload).toBeGreaterThan(0);
    expect(seen.offload).toBeLessThan(seen.tcp / 2);
    expect(seen.to8443).toBeGreaterThan(seen.tcp / 3);
    expect(seen.syn).toBeGreaterThan(20);
    expect(seen.rst).toBeGreaterThan(0);
    expect(seen.udp).toBeGreaterThan(0);
    expect(seen.v6).toBeGreaterThan(0);
    expect(seen.vlan).toBeGreaterThan(0);
    expect(seen.bigPayload).toBeGreaterThan(0);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const again = path.join(dir, 'b.pcap');
    const other = path.join(dir, 'c.pcap');
    await writeSyntheticCapture(again, { packets: 2000, seed: 7 });
    await writeSyntheticCapture(other, { packets: 2000, seed: 8 });
    const a = fs.readFileSync(file);
    expect(fs.readFileSync(again).equals(a)).toBe(true);
    expect(fs.readFileSync(other).equals(a)).toBe(false);
  });

  it('stops at a byte target, and a shorter run is a prefix of a longer one', async () => {
    const small = path.join(dir, 'd.pcap');
    const s = await writeSyntheticCapture(small, { bytes: 200_000, seed: 7 });
    expect(s.bytes).toBeGreaterThanOrEqual(200_000);
    expect(s.bytes).toBeLessThan(200_000 + 2000);
    const a = fs.readFileSync(file);
    expect(a.subarray(0, s.bytes).equals(fs.readFileSync(small))).toBe(true);
  });
});

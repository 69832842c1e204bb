/**
 * Checksum verdicts against tcpdump's own on the SSM sample captures: every TCP packet tcpdump -vv calls
 * `(correct)` is `good` here, every `(incorrect -> 0x....)` is `partial` (the offload pattern) or `bad`,
 * and packets tcpdump could not verify (snaplen) are `unverified`. Then the per-sender attribution.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChecksumLedger, Decoder, readCapture } from '../src/index.js';
import { fold, isOffloadPattern, judgeTransport, pseudo4, sum16 } from '../src/decode/checksum.js';
import { collect } from './helpers/collect.js';

const dir = path.join(import.meta.dirname, '..', 'captures');
const captures = fs.readdirSync(dir).filter((f) => f.endsWith('.pcap') && fs.existsSync(path.join(dir, `${f}.tcpdump.txt`)));

/** tcpdump's checksum word for the top-level TCP header of each record: 'correct' | 'incorrect' | '' */
function tcpdumpVerdicts(text: string): { verdict: string; field: number }[] {
  const out: { verdict: string; field: number }[] = [];
  let cur: { verdict: string; field: number } | null = null;
  for (const line of text.split('\n')) {
    if (/^\d\d:\d\d:\d\d\.\d+ /.test(line)) {
      cur = { verdict: '', field: -1 };
      out.push(cur);
    }
    if (!cur || line.startsWith('\t')) {
      if (line.startsWith('\t')) cur = null; // a quoted packet inside ICMP: not the top-level header
      continue;
    }
    const m = /Flags \[[^\]]*\], cksum 0x([0-9a-f]{4}) \((correct|incorrect)/.exec(line);
    if (m && cur.verdict === '') {
      cur.verdict = m[2]!;
      cur.field = parseInt(m[1]!, 16);
    }
  }
  return out;
}

describe('TCP checksum status agrees with tcpdump -vv on the sample captures', () => {
  it('has sample captures with tcpdump text', () => {
    expect(captures.length).toBeGreaterThanOrEqual(20);
  });
  for (const name of captures) {
    it(name, async () => {
      const file = path.join(dir, name);
      const td = tcpdumpVerdicts(fs.readFileSync(`${file}.tcpdump.txt`, 'utf8'));
      const { rows } = await collect(file, (p) => ({ tcp: p.isTcp, status: p.tcpChecksumStatus, field: p.tcpChecksum, offload: p.tcpChecksumOffload }));
      expect(rows.length).toBe(td.length);
      rows.forEach((r, i) => {
        const t = td[i]!;
        const where = `${name} frame ${i + 1}`;
        if (t.verdict === 'correct') expect(r.status, where).toBe('good');
        else if (t.verdict === 'incorrect') {
          expect(['partial', 'bad'], where).toContain(r.status);
          // loopback and the capturing host's NIC leave the pseudo-header sum: offload, not corruption
          expect(r.status, where).toBe('partial');
          expect(r.offload, where).toBe(true);
        } else if (r.tcp) expect(r.status, where).toBe('unverified');
        if (t.field >= 0) expect(r.field, where).toBe(t.field);
      });
    });
  }
});

describe('checksum attribution per sender', () => {
  it('routed capture from vManage eth0: offload on the capturing host only, computed checksums from across the router', async () => {
    const ledger = new ChecksumLedger();
    const d = new Decoder();
    await readCapture(path.join(dir, 'a21-routed-healthy-tls12-java.pcap'), (f) => ledger.add(d.decode(f)));
    const lines = ledger.summarize();
    const fromVmanage = lines.find((l) => l.src === '127.10.1.2')!;
    const fromSsm = lines.find((l) => l.src === '127.20.1.55')!;
    expect(fromVmanage.finding).toBe('offload');
    expect(fromVmanage.partial).toBe(13);
    expect(fromVmanage.text).toMatch(/packets sent by 127\.10\.1\.2 .* offload checksums .*not an error/);
    expect(fromSsm.finding).toBe('ok');
    expect(fromSsm.bad + fromSsm.partial).toBe(0);
  });

  it('snaplen-cut packets are unverified, and still flagged when the field shows the offload pattern', async () => {
    const { rows } = await collect(path.join(dir, 'a22-routed-auth-403-snaplen128.pcap'), (p) => ({ cut: p.tcpPayloadCapLen < p.tcpLen, status: p.tcpChecksumStatus, offload: p.tcpChecksumOffload, src: p.src() }));
    const cut = rows.filter((r) => r.cut);
    expect(cut.length).toBeGreaterThan(0);
    for (const r of cut) expect(r.status).toBe('unverified');
    // the capturing host (127.10.1.2) sent some of the cut packets: their fields still hold the pseudo-header sum
    expect(cut.filter((r) => r.src === '127.10.1.2').every((r) => r.offload)).toBe(true);
    expect(cut.filter((r) => r.src !== '127.10.1.2').some((r) => r.offload)).toBe(false);
  });

  it('a corrupted byte is bad, not offload', () => {
    // a SYN 10.0.0.1:1000 -> 10.0.0.2:8443 with a correct checksum, then one payload-free header byte changed
    const b = new Uint8Array(40);
    b.set([10, 0, 0, 1], 0);
    b.set([10, 0, 0, 2], 4);
    const seg = 20;
    b.set([0x03, 0xe8, 0x20, 0xfb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0], seg);
    const pseudo = pseudo4(b, 0, 4, 6, 20);
    const ck = 0xffff - fold(pseudo + sum16(b, seg, 20));
    b[seg + 16] = ck >> 8;
    b[seg + 17] = ck & 0xff;
    expect(judgeTransport(ck, pseudo, sum16(b, seg, 20))).toBe('good');
    b[seg + 14] ^= 0x01; // window changed in flight
    expect(judgeTransport(ck, pseudo, sum16(b, seg, 20))).toBe('bad');
    // offload: the field holds the folded pseudo-header sum
    const pf = fold(pseudo);
    b[seg + 16] = pf >> 8;
    b[seg + 17] = pf & 0xff;
    expect(isOffloadPattern(pf, pseudo)).toBe(true);
    expect(judgeTransport(pf, pseudo, sum16(b, seg, 20))).toBe('partial');
    expect(judgeTransport(pf, pseudo, -1)).toBe('unverified');
  });
});

describe('offload seen through address translation (the seed)', () => {
  it("the seed's (incorrect -> ...) checksums differ only by the TCP length: pseudo-header sums, not corruption", async () => {
    const ledger = new ChecksumLedger();
    const d = new Decoder();
    const fixture = path.join(import.meta.dirname, 'fixtures', 'tcpdump-seed-pt.txt');
    await readCapture(fixture, (f) => ledger.add(d.decode(f)));
    const fromVmanage = ledger.summarize().find((l) => l.src === '192.168.10.1')!;
    // 0xfadb on the 32-byte SYN, 0xfacf on 20-byte ACKs: the same base, 0xfabb, over addresses the capture does not show
    expect(fromVmanage.bad).toBeGreaterThanOrEqual(2);
    expect(fromVmanage.finding).toBe('offload');
    expect(fromVmanage.text).toMatch(/differ only by the TCP length.*not an error/);
  });

  it('wrong checksums that do not share a pseudo-header base stay corruption', async () => {
    const ledger = new ChecksumLedger();
    const d = new Decoder();
    await readCapture(path.join(import.meta.dirname, 'corpus', 'zk__http__get-to-ssh-server.pcap'), (f) => ledger.add(d.decode(f)));
    const lines = ledger.summarize();
    // five wrong checksums from one sender, each with its own base: not a pseudo-header sum
    expect(lines.find((l) => l.src === '130.74.164.231')).toMatchObject({ bad: 5, finding: 'corrupt' });
  });
});

describe('the checksum ledger on a capture of very many hosts', () => {
  /** a decoded TCP packet as the ledger reads it: IPv4 addresses at bytes 0..7 of its buffer */
  function packet(src: number, dst: number, status: 'good' | 'partial' | 'bad'): Parameters<ChecksumLedger['add']>[0] {
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setUint32(0, src);
    new DataView(buf.buffer).setUint32(4, dst);
    const ip = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    return { isTcp: true, tcpHdrLen: 20, tcpChecksumStatus: status, tcpChecksum: 0x1234, tLen: 40, tcpChecksumOffload: status === 'partial', buf, ipVersion: 4, srcOff: 0, dstOff: 4, src: () => ip(src), dst: () => ip(dst), frame: { number: ++frameNo } } as unknown as Parameters<ChecksumLedger['add']>[0];
  }
  let frameNo = 0;

  it('the ledgers of the parts (shards) of a capture merge into the ledger of the whole', () => {
    const whole = new ChecksumLedger();
    const parts = [new ChecksumLedger(), new ChecksumLedger()];
    const statuses = ['good', 'partial', 'bad'] as const;
    // 40 directions, their packets spread over two parts in an arbitrary but fixed way
    for (let i = 0; i < 2000; i++) {
      const d = (i * 7) % 40;
      const st = statuses[(i * 13) % 3 === 0 && d % 5 === 0 ? 2 : d % 3 === 0 ? 1 : 0]!;
      const p = packet(0x0a000000 + d, 0xc0000201 + (d % 3), st);
      whole.add(p);
      parts[(i * 31) % 2]!.add(p);
    }
    const merged = ChecksumLedger.merged(parts.map((l) => structuredClone(l.export())));
    expect(merged.summarize()).toEqual(whole.summarize());
    expect(merged.summarize().length).toBe(40);
  });

  it('folds the quiet directions into one line per finding and keeps every packet counted', () => {
    const ledger = new ChecksumLedger();
    const server = 0xc0000201;
    // one busy direction with offload checksums (the capturing host), then 20000 one-packet clients
    let busy: ReturnType<ChecksumLedger['add']> = null;
    for (let i = 0; i < 100; i++) busy = ledger.add(packet(server, 0x0a000001, 'partial'), busy);
    for (let i = 0; i < 20000; i++) ledger.add(packet(0x0a100000 + i, server, 'good'));
    // the busy direction's cached counts stay valid through the folds
    for (let i = 0; i < 100; i++) busy = ledger.add(packet(server, 0x0a000001, 'partial'), busy);
    const counts = ledger.counts();
    expect(counts.length).toBeLessThan(9000);
    expect(counts.reduce((n, c) => n + c.packets, 0)).toBe(20200);
    const lines = ledger.summarize();
    expect(lines[0]).toMatchObject({ finding: 'offload', packets: 200, src: '192.0.2.1', dst: '10.0.0.1' });
    const folded = lines.filter((l) => l.folded);
    expect(folded).toHaveLength(1);
    expect(folded[0]).toMatchObject({ finding: 'ok' });
    expect(folded[0]!.text).toMatch(/^\d+ of \d+ packets \d+ other directions/);
  });
});

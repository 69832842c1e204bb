/** Frames built by hand for tests: Ethernet + IPv4 + TCP (checksums left 0: unverified) */

export const SYN = 0x02;
export const ACK = 0x10;
export const FIN = 0x01;
export const PSH = 0x08;
export const RST = 0x04;

export function tcp4(src: number, dst: number, sport: number, dport: number, flags: number, seq: number, ack: number, opts: { payload?: Uint8Array; ipId?: number; ttl?: number } = {}): Uint8Array {
  const payload = opts.payload ?? new Uint8Array(0);
  const ipLen = 40 + payload.length;
  const b = new Uint8Array(14 + ipLen);
  const v = new DataView(b.buffer);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, ipLen);
  v.setUint16(18, opts.ipId ?? 0);
  v.setUint8(22, opts.ttl ?? 64);
  v.setUint8(23, 6);
  v.setUint32(26, src);
  v.setUint32(30, dst);
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  v.setUint32(38, seq >>> 0);
  v.setUint32(42, ack >>> 0);
  v.setUint8(46, 5 << 4);
  v.setUint8(47, flags);
  v.setUint16(48, 65535);
  b.set(payload, 54);
  return b;
}

/** a capture's bytes as a stream input */
export async function* bytesOf(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

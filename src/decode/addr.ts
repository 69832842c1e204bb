/** Address text as tshark prints it: dotted quad, and RFC 5952 IPv6 (inet_ntop, IPv4-mapped forms kept). */
export function formatIPv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** the words of the address being written (formatIPv6 is synchronous: one scratch array serves every call) */
const W = new Uint16Array(8);

export function formatIPv6(b: Uint8Array, off: number): string {
  const w = W;
  for (let i = 0; i < 8; i++) w[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  // ::ffff:a.b.c.d and ::a.b.c.d (deprecated compatible, not :: or ::1) as inet_ntop prints them
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0) {
    if (w[5] === 0xffff) return `::ffff:${formatIPv4(b, off + 12)}`;
    if (w[5] === 0 && (w[6] !== 0 || w[7]! > 1)) return `::${formatIPv4(b, off + 12)}`;
  }
  // longest run of two or more zero words, first one on ties
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // the words in hex, joined by ':', the run written as '::' (no arrays per address)
  let out = '';
  if (bestStart < 0) {
    for (let i = 0; i < 8; i++) out += i > 0 ? `:${w[i]!.toString(16)}` : w[i]!.toString(16);
    return out;
  }
  for (let i = 0; i < bestStart; i++) out += i > 0 ? `:${w[i]!.toString(16)}` : w[i]!.toString(16);
  out += '::';
  const tail = bestStart + bestLen;
  for (let i = tail; i < 8; i++) out += i > tail ? `:${w[i]!.toString(16)}` : w[i]!.toString(16);
  return out;
}

export function formatMac(b: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** an address as written before a port: IPv6 in brackets (RFC 3986), IPv4 as it is */
export function bracketHost(addr: string): string {
  return addr.includes(':') ? `[${addr}]` : addr;
}

/** address:port, IPv6 bracketed */
export function hostPort(addr: string, port: number): string {
  return `${bracketHost(addr)}:${port}`;
}

/** the address of an address:port as hostPort writes it (IPv6 in brackets) */
export function hostOf(hp: string): string {
  return hp.replace(/^\[?(.+?)\]?:\d+$/, '$1');
}

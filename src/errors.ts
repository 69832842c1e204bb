/**
 * One error type for everything ssmcap reports about its input. It carries structure, not only a string:
 * what kind of fault (`code`), where (`file`, byte `offset`), and for length faults how many bytes were
 * needed and how many there were. `message` is the one line a user sees.
 */
export type CaptureErrorCode =
  | 'empty' // zero bytes
  | 'bad-magic' // not a capture format we know
  | 'bad-version' // pcap major version other than 2, pcapng SHB version other than 1.x
  | 'bad-linktype' // reserved bits set in the pcap link-type field
  | 'bad-header' // a file or section header that cannot be right
  | 'record-too-large' // a record header claims more bytes than any snaplen allows
  | 'truncated' // the file ends inside a header, record or block
  | 'bad-block' // a pcapng block whose lengths do not agree or overrun
  | 'gzip' // the gzip stream is corrupt or cut short
  | 'io' // the operating system could not read the file
  | 'usage'; // the caller asked for something impossible

export interface CaptureErrorInit {
  code: CaptureErrorCode;
  file: string;
  offset: number;
  detail: string;
  /** bytes the structure needed from `offset` */
  need?: number;
  /** bytes that were there */
  have?: number;
  /** offsets count decompressed bytes (gzip input) */
  decompressed?: boolean;
}

export class CaptureError extends Error {
  readonly code: CaptureErrorCode;
  readonly file: string;
  readonly offset: number;
  readonly detail: string;
  readonly need: number | undefined;
  readonly have: number | undefined;
  readonly decompressed: boolean;

  constructor(init: CaptureErrorInit) {
    const where = init.decompressed ? `decompressed byte ${init.offset}` : `byte ${init.offset}`;
    super(`${init.file}: ${where}: ${init.detail}`);
    this.name = 'CaptureError';
    this.code = init.code;
    this.file = init.file;
    this.offset = init.offset;
    this.detail = init.detail;
    this.need = init.need;
    this.have = init.have;
    this.decompressed = init.decompressed ?? false;
  }

  /** The one line printed on stderr. */
  line(): string {
    return `ssmcap: ${this.message}`;
  }

  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = { code: this.code, file: this.file, offset: this.offset, message: this.message };
    if (this.need !== undefined) o.need = this.need;
    if (this.have !== undefined) o.have = this.have;
    if (this.decompressed) o.decompressed = true;
    return o;
  }
}

export function isCaptureError(e: unknown): e is CaptureError {
  return e instanceof CaptureError;
}

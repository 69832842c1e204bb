/**
 * ssmcap's library API. The CLI is a thin layer over these.
 *
 *   import { readCapture, Decoder } from 'ssmcap';
 *   const d = new Decoder();
 *   const summary = await readCapture('x.pcap', (frame) => { const p = d.decode(frame); ... });
 */
export { CaptureError, isCaptureError, type CaptureErrorCode } from './errors.js';
export { Frame, formatEpoch } from './input/frame.js';
export { readCapture, sniffMagic, type CaptureInput, type CaptureSummary, type ReadOptions, type CaptureFormat, type TextLineStats } from './input/reader.js';
export { readTcpdumpText, looksLikeTcpdumpText } from './input/tcpdump-text.js';
export type { InterfaceInfo, DecryptionSecret } from './input/parser.js';
export { LINKTYPE, linkTypeName, isDecodedLinkType } from './input/linktypes.js';
export { expandInputs, type InputEntry } from './input/dir.js';
export { Decoder, decode, type DecoderOptions } from './decode/packet.js';
export { Packet, QuotedPacket } from './decode/view.js';
export * as tcpFlags from './decode/view.js';
export { type ChecksumStatus } from './decode/checksum.js';
export { FragmentStore, DEFAULT_FRAGMENT_LIMITS, type FragmentLimits } from './decode/fragments.js';
export { formatIPv4, formatIPv6 } from './decode/addr.js';
export { FlowTable, type FlowEntry } from './flow/table.js';
export { TcpStreamIndex } from './flow/stream-index.js';
export { ChecksumLedger, type ChecksumSummaryLine } from './diagnose/checksums.js';
export { FIELDS, FIELD_BY_NAME, quotedRecord, type FieldDef, type FieldContext } from './report/fields.js';
export { writePackets, resolveFields, type PacketsOptions, type PacketsFormat } from './report/packets.js';
export { inspectCapture, formatInfoText, type CaptureInfo } from './report/info.js';
export { reportHtml, writeReportHtml, type HtmlOptions } from './report/html.js';
export { ladderLayout, ladderAscii, type LadderLayout } from './report/ladder.js';
export { buildLadder, type LadderStep } from './diagnose/ladder.js';

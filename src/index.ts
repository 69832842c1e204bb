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
export { startLive, liveFilter, LiveError, type LiveOptions, type LiveCapture, type LiveEngine } from './input/live.js';
export { followFile, type FollowOptions, type FollowedFile } from './input/follow.js';
export { analyzeCapture, type AnalyzeOptions, type CaptureAnalysis, type ConnectionResult, type ServerResult, type InputResult } from './diagnose/analyze.js';
export { analyzeMany, type ManyOptions } from './diagnose/parallel.js';
export { readLogs, readLogFile, resolveLogYears, logsDay, parseTimeZone, type LogFile, type LogEvent, type LogEventKind, type LogFileKind, type LogReadOptions, type TimeZone } from './input/logs.js';
export { applyLogs, describeEvent, type LogAnalysis, type LogSummary, type LogNote, type LogFinding, type TimelineEntry } from './diagnose/logs.js';
export { buildReport, reportText, reportJson, type RunReport } from './report/analysis.js';
export { KeyLog, DSB_TLS_KEYLOG, type KeySet, type KeyLogProblem } from './protocols/keylog.js';
export { TlsDecryptor, DirectionKeys, SUITES, prf, hkdfExpandLabel, tls12Keys, type DecryptedRecord, type DecryptFailure, type Suite } from './protocols/decrypt.js';
export { decryptedView, type DecryptedFrame, type DecryptedCapture } from './protocols/decrypt-view.js';
export { reportHtml, writeReportHtml, type HtmlOptions } from './report/html.js';
export { ladderLayout, ladderAscii, type LadderLayout } from './report/ladder.js';
export { buildLadder, type LadderStep } from './diagnose/ladder.js';

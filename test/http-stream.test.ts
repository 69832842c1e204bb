/**
 * HttpStream against the messages it reads: an OAuth exchange (the token request, an interim 100
 * Continue, the 4xx answer with its JSON error, an API call, a chunked answer) reads the same however the
 * stream is cut into segments.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpStream, header } from '../src/protocols/http.js';
import { TlsStream } from '../src/protocols/tls.js';

function feed(role: 'client' | 'server', text: string, chunks: number[]): HttpStream {
  const h = new HttpStream(role);
  const bytes = Buffer.from(text, 'latin1');
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = Math.min(chunks[i % chunks.length]!, bytes.length - off);
    h.data(bytes.subarray(off, off + n), off, i + 1, i);
    off += n;
  }
  h.end();
  return h;
}

function facts(h: HttpStream) {
  return h.messages.map((m) => ({ kind: m.kind, method: m.method, target: m.target, status: m.status, headers: m.headers, body: m.body, bodyLength: m.bodyLength, complete: m.complete }));
}

/** a body in chunked transfer coding, cut at the given sizes */
function chunked(body: string, sizes: number[]): string {
  let out = '';
  let p = 0;
  for (let i = 0; p < body.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, body.length - p);
    out += `${n.toString(16)}\r\n${body.slice(p, p + n)}\r\n`;
    p += n;
  }
  return `${out}0\r\n\r\n`;
}

const word = fc.stringMatching(/^[A-Za-z0-9_]{1,24}$/);

describe('HttpStream', () => {
  it('reads the same requests and answers however the stream is segmented', () => {
    fc.assert(
      fc.property(
        word,
        word,
        fc.constantFrom(400, 401, 403),
        fc.stringMatching(/^[ -~]{0,300}$/),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (clientId, error, status, description, chunkSizes, segs, crlf) => {
          const nl = crlf ? '\r\n' : '\n';
          const form = `grant_type=client_credentials&client_id=${clientId}`;
          const requests =
            `POST /oauth/token HTTP/1.1${nl}Host: ssm.example:8443${nl}Content-Type: application/x-www-form-urlencoded${nl}Expect: 100-continue${nl}Content-Length: ${form.length}${nl}${nl}${form}` +
            `GET /api/v1/licenses HTTP/1.1${nl}Host: ssm.example:8443${nl}${nl}`;
          const json = JSON.stringify({ error, error_description: description });
          const apiBody = JSON.stringify({ licenses: [clientId, error] });
          const answers =
            `HTTP/1.1 100 Continue${nl}${nl}` +
            `HTTP/1.1 ${status} Bad${nl}Content-Type: application/json${nl}Content-Length: ${json.length}${nl}${nl}${json}` +
            `HTTP/1.1 200 OK${nl}Transfer-Encoding: chunked${nl}${nl}${chunked(apiBody, chunkSizes)}`;
          const c = feed('client', requests, [requests.length]);
          const s = feed('server', answers, [answers.length]);
          // the reference: what was written
          expect(c.messages.map((m) => [m.method, m.target, m.body])).toEqual([
            ['POST', '/oauth/token', form],
            ['GET', '/api/v1/licenses', ''],
          ]);
          expect(s.messages.map((m) => [m.status, m.body, m.complete])).toEqual([
            [100, '', true],
            [status, json, true],
            [200, apiBody, true],
          ]);
          expect(header(s.messages[1]!, 'content-type')).toBe('application/json');
          expect(facts(feed('client', requests, segs))).toEqual(facts(c));
          expect(facts(feed('server', answers, segs))).toEqual(facts(s));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('plain HTTP where TLS was expected, cut by the snaplen', () => {
  it("the TLS parser hands the bytes and the snaplen's gap to the HTTP reader: a cut head's status line is read when the gap comes", () => {
    const t = new TlsStream();
    const h = new HttpStream('server');
    t.fallback = h;
    const head = new TextEncoder().encode('HTTP/1.1 401 Unauthorized\r\nContent-Type: applica');
    t.data(head, 0, 8, 1);
    t.gap(180, head.length, 'snaplen', 8);
    expect(t.state).toBe('not-tls');
    expect(h.messages).toHaveLength(1);
    expect(h.messages[0]).toMatchObject({ kind: 'response', status: 401, reason: 'Unauthorized', cut: true, frame: 8 });
  });

  it('a head still open when the stream ends is read as far as it goes; a request cut in its query keeps its path', () => {
    const h = new HttpStream('client');
    h.data(new TextEncoder().encode('POST /backend/oauth/token?grant_type=password&cli'), 0, 6, 1);
    expect(h.messages).toHaveLength(0);
    h.end();
    expect(h.messages[0]).toMatchObject({ kind: 'request', method: 'POST', target: '/backend/oauth/token?grant_type=password&cli', cut: true });
    const g = new HttpStream('client');
    g.data(new TextEncoder().encode('POST /backend/oau'), 0, 6, 1);
    g.end();
    expect(g.messages, 'a path cut short is not taken').toHaveLength(0);
  });
});

// SSM On-Prem stand-in: POST /backend/oauth/token -> per MODE; GET /api/... -> 200 JSON
import https from 'node:https';
import fs from 'node:fs';
const [host, port, mode, maxv] = process.argv.slice(2);
// CERT=NAME: serve NAME-key.pem / NAME-cert.pem (mkcerts.py: expired, wronghost) instead of key.pem / cert.pem
const pre = process.env.CERT ? `${process.env.CERT}-` : '';
const opts = { key: fs.readFileSync(new URL(`${pre}key.pem`, import.meta.url)), cert: fs.readFileSync(new URL(`${pre}cert.pem`, import.meta.url)) };
if (maxv) opts.maxVersion = maxv;
if (process.env.MINV) opts.minVersion = process.env.MINV;
// ECDH_CURVE=P-384: a group curl and Python do not send a key share for: TLS 1.3 HelloRetryRequest
if (process.env.ECDH_CURVE) opts.ecdhCurve = process.env.ECDH_CURVE;
// BIG=N: API answers of N bytes (several TLS records and many segments each)
const big = Number(process.env.BIG ?? 0);
// CLIENT_CERT=1: the server asks for a client certificate and refuses a client without one
if (process.env.CLIENT_CERT) Object.assign(opts, { requestCert: true, rejectUnauthorized: true, ca: [opts.cert] });
const srv = https.createServer(opts, (req, res) => {
  // MODE fin: the server closes (close_notify, FIN) as soon as the TLS handshake is done, answering nothing
  if (mode === 'fin') return;
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    // MODE reset4: the connection's fourth request is answered by a reset
    req.socket.ssmCalls = (req.socket.ssmCalls ?? 0) + 1;
    if (mode === 'reset4' && req.socket.ssmCalls === 4) { (req.socket._parent ?? req.socket).resetAndDestroy(); return; }
    if (mode === 'reset') { (req.socket._parent ?? req.socket).resetAndDestroy(); return; }
    if (req.url.startsWith('/backend/oauth/token')) {
      if (mode === '403') { res.writeHead(403, { 'content-type': 'application/json' }); res.end('{"error":"invalid_client","error_description":"Grant not found"}'); }
      else if (mode === '401') { res.writeHead(401, { 'content-type': 'application/json' }); res.end('{"error":"invalid_grant","error_description":"Invalid username or password"}'); }
      else { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ access_token: 'a'.repeat(40), token_type: 'bearer', expires_in: 3599 })); }
    } else if (big) { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ status: 'ok', data: 'x'.repeat(big) }));
    } else { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ status: 'ok', licenses: Array.from({ length: 20 }, (_, i) => ({ id: i, name: 'DNA Advantage ' + i, count: 100 + i })) })); }
  });
});
if (mode === 'fin') srv.on('secureConnection', (sock) => sock.end());
srv.keepAliveTimeout = 5000;
srv.listen(Number(port), host, () => console.log('listening'));

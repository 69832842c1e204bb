// SSM On-Prem stand-in speaking HTTP/2 (ALPN h2, HTTP/1.1 allowed): node h2server.mjs HOST PORT MODE (200|403)
import http2 from 'node:http2';
import fs from 'node:fs';
const [host, port, mode] = process.argv.slice(2);
const srv = http2.createSecureServer({ key: fs.readFileSync(new URL('key.pem', import.meta.url)), cert: fs.readFileSync(new URL('cert.pem', import.meta.url)), allowHTTP1: true }, (req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url.startsWith('/backend/oauth/token') && mode === '403') { res.writeHead(403, { 'content-type': 'application/json' }); res.end('{"error":"invalid_client","error_description":"Grant not found"}'); }
    else if (req.url.startsWith('/backend/oauth/token')) { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ access_token: 'a'.repeat(40), token_type: 'bearer', expires_in: 3599 })); }
    else { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ status: 'ok', licenses: Array.from({ length: 20 }, (_, i) => ({ id: i, name: 'DNA Advantage ' + i, count: 100 + i })) })); }
  });
});
srv.listen(Number(port), host, () => console.log('listening'));

// HTTP CONNECT proxy stand-in: MODE tunnel | 407 | 502
import http from 'node:http';
import net from 'node:net';
const [host, port, mode] = process.argv.slice(2);
const srv = http.createServer((req, res) => { res.writeHead(405); res.end(); });
srv.on('connect', (req, sock, head) => {
  if (mode === '407') { sock.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n'); return; }
  const [h, p] = req.url.startsWith('[') ? [req.url.slice(1, req.url.indexOf(']')), req.url.split(':').pop()] : req.url.split(':');
  const up = net.connect(Number(p), h, () => { sock.write('HTTP/1.1 200 Connection established\r\n\r\n'); up.write(head); up.pipe(sock); sock.pipe(up); });
  up.on('error', () => { sock.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'); });
  sock.on('error', () => up.destroy());
});
srv.listen(Number(port), host);

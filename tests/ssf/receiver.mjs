// An SSF receiver (RFC 8935 push) for latchkey's tests, written with the
// generic JOSE library `jose`: every Security Event Token it is sent is
// verified against latchkey's JWKS (signature, issuer, audience, `typ`),
// and printed as one JSON line: {"ok": true, "payload": …} or
// {"ok": false, "error": …}. Usage: node receiver.mjs <issuer> <audience>.
// The first line it prints is {"listening": <port>}.
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [issuer, audience] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', async () => {
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/secevent+jwt') {
      res.writeHead(400).end();
      console.log(JSON.stringify({ ok: false, error: `bad request: ${req.method} ${req.headers['content-type']}` }));
      return;
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(body, jwks, { issuer, audience, typ: 'secevent+jwt' });
      res.writeHead(202).end();
      console.log(JSON.stringify({ ok: true, header: protectedHeader, payload }));
    } catch (e) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ err: 'invalid_request' }));
      console.log(JSON.stringify({ ok: false, error: String(e) }));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ listening: server.address().port })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

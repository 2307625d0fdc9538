#!/usr/bin/env node
// The tus reference server for LoadPipe's tests: @tus/server 2.4.5 with @tus/file-store 2.1.1, as their README
// starts them, on 127.0.0.1 at /files/. It announces creation, creation-with-upload, creation-defer-length,
// termination and expiration; it has no checksum and no concatenation. The file store keeps each upload as
// DIR/ID (its bytes so far, a partial PATCH body included) and DIR/ID.json (its length, offset and metadata).
//
// It logs one line per answered request on stdout, for tests that look at what a client sent:
//   METHOD ID STATUS REQUEST_OFFSET RESPONSE_OFFSET     ("-" where a header is absent)
// A PATCH the client gave up on (killed mid-body) is logged with the status "aborted".
//
// Usage, as scripts/test.sh runs it (the packages found through NODE_PATH; they are ES modules, so they are
// resolved here and imported by path):
//   NODE_PATH=.artifacts/npm/node_modules node tests/tus/reference-server.js PORT DIR
'use strict';

const http = require('http');
const { pathToFileURL } = require('url');

async function main() {
  const [port, directory] = process.argv.slice(2);
  if (!port || !directory) {
    console.error('usage: reference-server.js PORT DIR');
    process.exit(2);
  }
  const load = (name) => import(pathToFileURL(require.resolve(name)).href);
  const { Server } = await load('@tus/server');
  const { FileStore } = await load('@tus/file-store');

  const tus = new Server({ path: '/files', datastore: new FileStore({ directory }) });
  const server = http.createServer((req, res) => {
    const id = req.url.replace(/^\/files\/?/, '').split('?')[0] || '-';
    let answered = false;
    let offset;
    // The server hands its headers to writeHead (an object or a flat [name, value, ...] list), not to setHeader.
    const writeHead = res.writeHead;
    res.writeHead = function (status, ...rest) {
      const headers = rest.find((a) => a && typeof a === 'object');
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'upload-offset') offset = headers[i + 1];
      } else if (headers) {
        for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'upload-offset') offset = value;
      }
      return writeHead.call(this, status, ...rest);
    };
    res.on('finish', () => {
      answered = true;
      log(req.method, id, res.statusCode, req.headers['upload-offset'], offset ?? res.getHeader('upload-offset'));
    });
    res.on('close', () => {
      if (!answered) log(req.method, id, 'aborted', req.headers['upload-offset'], undefined);
    });
    tus.handle(req, res);
  });
  server.listen(Number(port), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/files/`));
}

function log(method, id, status, requestOffset, responseOffset) {
  console.log([method, id, status, requestOffset ?? '-', responseOffset ?? '-'].join(' '));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

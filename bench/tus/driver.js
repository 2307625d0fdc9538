// bench/tus.sh's client: N concurrent uploads of SIZE MiB each with tus-js-client (one Node process), while IDLE TCP
// connections are held open to the same server. Prints one JSON line: bytes, seconds, MiB/s, PATCH latencies
// (p50/p99 ms), failures, and how many idle connections the server still held at the end.
// Usage: node driver.js ENDPOINT COUNT SIZE_MIB CHUNK_MIB IDLE [BEARER_TOKEN]
'use strict';
const tus = require('tus-js-client');
const net = require('net');
const crypto = require('crypto');

const [endpoint, count, sizeMiB, chunkMiB, idle, token] = process.argv.slice(2);
const n = Number(count), size = Number(sizeMiB) * 1048576, chunk = Number(chunkMiB) * 1048576, idleCount = Number(idle);
const url = new URL(endpoint);

function holdIdle(total) {
  const sockets = [];
  return new Promise((resolve) => {
    let pending = total;
    if (pending === 0) resolve(sockets);
    for (let i = 0; i < total; i++) {
      const s = net.connect({ host: url.hostname, port: Number(url.port) }, () => { if (--pending === 0) resolve(sockets); });
      s.open = true;
      s.on('error', () => { s.open = false; if (pending > 0 && --pending === 0) resolve(sockets); });
      s.on('close', () => { s.open = false; });
      sockets.push(s);
    }
  });
}

function upload(i, data, latencies) {
  return new Promise((resolve) => {
    const started = new Map();
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const u = new tus.Upload(data, {
      endpoint, chunkSize: chunk, retryDelays: [0, 500, 1000], headers,
      metadata: { filename: `bench-${i}.bin`, filetype: 'application/octet-stream' },
      onBeforeRequest: (req) => { started.set(req, process.hrtime.bigint()); },
      onAfterResponse: (req) => {
        if (req.getMethod() === 'PATCH' && started.has(req)) latencies.push(Number(process.hrtime.bigint() - started.get(req)) / 1e6);
      },
      onError: (e) => resolve({ ok: false, error: String(e).split('\n')[0] }),
      onSuccess: () => resolve({ ok: true }),
    });
    u.start();
  });
}

(async () => {
  const sockets = await holdIdle(idleCount);
  const heldAtStart = sockets.filter((s) => s.open).length;
  const data = crypto.randomBytes(size);
  const latencies = [];
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: n }, (_, i) => upload(i, data, latencies)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const heldAtEnd = sockets.filter((s) => s.open).length;
  sockets.forEach((s) => s.destroy());
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0);
  const failed = results.filter((r) => !r.ok);
  console.log(JSON.stringify({
    bytes: size * (n - failed.length), seconds, mibps: (size * (n - failed.length)) / 1048576 / seconds,
    patches: latencies.length, p50: pct(0.5), p99: pct(0.99), failures: failed.length,
    firstError: failed.length ? failed[0].error : null, idleAtStart: heldAtStart, idleAtEnd: heldAtEnd,
  }));
  process.exit(0);
})();

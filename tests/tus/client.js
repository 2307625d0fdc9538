// tus-js-client (the reference tus client) driven by arguments, for the tests of `lp serve`. Each event is one JSON
// line on stdout: {"event":"progress","bytes":N,"total":N}, {"event":"success","url":U},
// {"event":"error","status":S,"url":U,"message":M}. Exit code 0 on success, 1 on error.
//
//   node client.js --endpoint http://127.0.0.1:8080/files/ --file PATH [--name NAME] [--chunk-size BYTES]
//        [--parallel N] [--defer] [--wrong-checksum] [--upload-url URL] [--abort-after BYTES] [--token T]
//
// --abort-after stops the upload once that many bytes were acknowledged (as a closed tab would) and prints
// {"event":"aborted","url":U}; --upload-url resumes an upload from its URL (HEAD, then PATCH from the server's offset).
'use strict';
const fs = require('fs');
const tus = require('tus-js-client');

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const key = process.argv[i].replace(/^--/, '');
  const next = process.argv[i + 1];
  if (next === undefined || next.startsWith('--')) args[key] = true;
  else { args[key] = next; i++; }
}
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');

const defer = args.defer === true;
// A deferred length needs a stream of unknown size. Not an fs.ReadStream: tus-js-client reads that one as a file
// (FileSource), which announces a full chunk's Content-Length for the last, shorter chunk.
const source = defer ? fs.createReadStream(args.file).pipe(new (require('stream').PassThrough)()) : fs.readFileSync(args.file);
const options = {
  endpoint: args.endpoint,
  metadata: { filename: args.name || require('path').basename(args.file) },
  // No retries: the tests decide what happens after a failure (a restart, a resume).
  retryDelays: [],
  removeFingerprintOnSuccess: true,
  onProgress(bytes, total) { emit({ event: 'progress', bytes, total }); },
  onSuccess() { emit({ event: 'success', url: upload.url }); process.exit(0); },
  onError(error) {
    const response = error.originalResponse;
    emit({ event: 'error', status: response ? response.getStatus() : 0, url: upload.url, message: String(error.message).split('\n')[0] });
    process.exit(1);
  },
};
if (args['chunk-size']) options.chunkSize = Number(args['chunk-size']);
if (defer) { options.uploadLengthDeferred = true; options.chunkSize = options.chunkSize || 256 * 1024; }
if (args.parallel) options.parallelUploads = Number(args.parallel);
if (args['upload-url']) options.uploadUrl = args['upload-url'];
if (args.token) options.headers = { Authorization: 'Bearer ' + args.token };
if (args['wrong-checksum']) {
  options.onBeforeRequest = (req) => {
    // A SHA-1 of other bytes: the server must answer 460 and keep nothing of this PATCH.
    if (req.getMethod() === 'PATCH') req.setHeader('Upload-Checksum', 'sha1 ' + Buffer.alloc(20, 7).toString('base64'));
  };
}
if (args['abort-after']) {
  const after = Number(args['abort-after']);
  options.onChunkComplete = (chunk, accepted) => {
    if (accepted >= after) {
      upload.abort(false).then(() => { emit({ event: 'aborted', url: upload.url, offset: accepted }); process.exit(0); });
    }
  };
}

const upload = new tus.Upload(source, options);
upload.start();

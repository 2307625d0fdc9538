#!/usr/bin/env node
// s3rver 3.7.1, started the way its own CLI starts it, plus the three multipart routes it lacks:
//
//   ListParts              GET    /BUCKET/KEY?uploadId=ID   (S3 API reference: API_ListParts)
//   AbortMultipartUpload   DELETE /BUCKET/KEY?uploadId=ID   (S3 API reference: API_AbortMultipartUpload)
//   ListMultipartUploads   GET    /BUCKET?uploads           (S3 API reference: API_ListMultipartUploads)
//
// Why: without ListParts a client cannot check, after a crash, which parts of a multipart upload the server
// really holds, and that is the path LoadPipe's S3 adapter takes on real S3, MinIO, R2 and Ceph. s3rver keeps
// an upload's parts on disk (BUCKET/._S3rver_uploads/UPLOAD_ID/{key,metadata,N,N.md5}, see its
// lib/stores/filesystem.js); these routes read and delete that folder, nothing else.
//
// It also mends two s3rver bugs: it reads x-amz-copy-source with decodeURI, so a copy source whose '/' is sent
// as %2F (as the AWS SDK for .NET v4 sends it, and S3 accepts) names a bucket that does not exist; and it lists
// keys in the order of its folder walk, not in the byte order of their UTF-8 (S3 API reference: ListObjectsV2), so
// "a/b" came before "a-b" and a page that ended at "a/b" made the next one skip "a-b".
//
// Buckets whose name starts with "plain-" are left to s3rver's own answers (405 MethodNotAllowed for ListParts
// and Abort, 501 NotImplemented for ListMultipartUploads), so a test can see how a client copes with a server
// that lacks them.
//
// Usage, as scripts/test.sh runs it (s3rver found through NODE_PATH):
//   node server.js -d DIR -a 127.0.0.1 -p PORT --configure-bucket test-bucket [--silent]
'use strict';

const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');
const router = require('s3rver/lib/routes');
const S3Error = require('s3rver/lib/models/error');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const PLAIN_PREFIX = 'plain-';

function parseArgs(argv) {
  const options = { address: 'localhost', port: 4568, silent: false, configureBuckets: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '-d' || arg === '--directory') options.directory = value();
    else if (arg === '-a' || arg === '--address') options.address = value();
    else if (arg === '-p' || arg === '--port') options.port = Number(value());
    else if (arg === '-s' || arg === '--silent') options.silent = true;
    else if (arg === '--configure-bucket') options.configureBuckets.push({ name: value(), configs: [] });
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!options.directory) throw new Error('-d DIR is required');
  fs.mkdirSync(options.directory, { recursive: true });
  return options;
}

const isPlain = ctx => ctx.params.bucket.startsWith(PLAIN_PREFIX);

/** Where s3rver keeps the in-progress uploads of a bucket (FilesystemStore.initiateUpload). */
const uploadsRoot = ctx => ctx.store.getResourcePath(ctx.params.bucket, undefined, 'uploads');

const noSuchUpload = uploadId =>
  new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

/** The upload's folder, after checking it exists and belongs to the key in the URL. */
async function uploadDir(ctx) {
  const uploadId = ctx.query.uploadId;
  if (!/^[0-9a-f]+$/.test(uploadId)) throw noSuchUpload(uploadId);
  const dir = path.join(uploadsRoot(ctx), uploadId);
  let key;
  try {
    key = await fs.promises.readFile(path.join(dir, 'key'), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') throw noSuchUpload(uploadId);
    throw err;
  }
  if (key !== ctx.params.key) throw noSuchUpload(uploadId);
  return dir;
}

function intParam(ctx, name, fallback, min, max) {
  const text = ctx.query[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new S3Error('InvalidArgument', `${name} must be an integer between ${min} and ${max}`, {
      ArgumentName: name,
      ArgumentValue: text,
    });
  }
  return n;
}

const owner = () => ({ ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName });

/**
 * ListParts: the parts uploaded so far, in part-number order, after part-number-marker, at most max-parts
 * (default and maximum 1000). A part whose .md5 file is missing was never acknowledged (s3rver writes it
 * after the part's bytes), so it is not listed.
 */
async function listParts(ctx, next) {
  if (ctx.params.queryMethod !== 'uploadId' || isPlain(ctx)) return next();
  const dir = await uploadDir(ctx);
  const maxParts = intParam(ctx, 'max-parts', 1000, 0, 1000);
  const marker = intParam(ctx, 'part-number-marker', 0, 0, 10000);
  const names = await fs.promises.readdir(dir);
  const numbers = names
    .filter(name => /^\d+$/.test(name) && names.includes(`${name}.md5`))
    .map(Number)
    .filter(n => n > marker)
    .sort((a, b) => a - b);
  const page = numbers.slice(0, maxParts);
  const parts = await Promise.all(
    page.map(async number => {
      const file = path.join(dir, String(number));
      const [stat, md5] = await Promise.all([
        fs.promises.stat(file),
        fs.promises.readFile(`${file}.md5`, 'utf8'),
      ]);
      return {
        PartNumber: number,
        LastModified: stat.mtime.toISOString(),
        ETag: JSON.stringify(md5),
        Size: stat.size,
      };
    }),
  );
  ctx.logger.info(
    'ListParts of upload %s for "%s" in bucket "%s": %d parts',
    ctx.query.uploadId,
    ctx.params.key,
    ctx.params.bucket,
    parts.length,
  );
  ctx.body = {
    ListPartsResult: {
      '@': { xmlns: XMLNS },
      Bucket: ctx.params.bucket,
      Key: ctx.params.key,
      UploadId: ctx.query.uploadId,
      Initiator: owner(),
      Owner: owner(),
      StorageClass: 'STANDARD',
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1] : marker,
      MaxParts: maxParts,
      IsTruncated: numbers.length > page.length,
      Part: parts,
    },
  };
}

/** AbortMultipartUpload: drops the upload and its parts; 204 No Content. Unknown upload: 404 NoSuchUpload. */
async function abortMultipartUpload(ctx, next) {
  if (ctx.params.queryMethod !== 'uploadId' || isPlain(ctx)) return next();
  const dir = await uploadDir(ctx);
  await fs.promises.rm(dir, { recursive: true, force: true });
  ctx.logger.info(
    'AbortMultipartUpload of upload %s for "%s" in bucket "%s"',
    ctx.query.uploadId,
    ctx.params.key,
    ctx.params.bucket,
  );
  ctx.status = 204;
}

/**
 * ListMultipartUploads: the uploads in progress, ordered by key and then by upload id (S3 orders uploads of
 * one key by initiation time; s3rver's ids are random, so id order stands in), with prefix, delimiter,
 * key-marker, upload-id-marker and max-uploads (default and maximum 1000).
 */
async function listMultipartUploads(ctx, next) {
  if (ctx.params.queryMethod !== 'uploads' || isPlain(ctx)) return next();
  const prefix = ctx.query.prefix || '';
  const delimiter = ctx.query.delimiter || '';
  const keyMarker = ctx.query['key-marker'] || '';
  const uploadIdMarker = keyMarker ? ctx.query['upload-id-marker'] || '' : '';
  const maxUploads = intParam(ctx, 'max-uploads', 1000, 0, 1000);

  const root = uploadsRoot(ctx);
  const ids = await fs.promises.readdir(root).catch(err => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const uploads = [];
  for (const id of ids) {
    const dir = path.join(root, id);
    try {
      const [key, stat] = await Promise.all([
        fs.promises.readFile(path.join(dir, 'key'), 'utf8'),
        fs.promises.stat(path.join(dir, 'key')),
      ]);
      uploads.push({ key, id, initiated: stat.mtime });
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // completed or aborted meanwhile
    }
  }
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  uploads.sort((a, b) => cmp(a.key, b.key) || cmp(a.id, b.id));

  const entries = []; // uploads and common prefixes, in order, each counting once towards max-uploads
  const seenPrefixes = new Set();
  for (const upload of uploads) {
    if (!upload.key.startsWith(prefix)) continue;
    if (keyMarker) {
      if (upload.key < keyMarker) continue;
      if (upload.key === keyMarker && (!uploadIdMarker || upload.id <= uploadIdMarker)) continue;
    }
    const cut = delimiter ? upload.key.indexOf(delimiter, prefix.length) : -1;
    if (cut >= 0) {
      const common = upload.key.slice(0, cut + delimiter.length);
      if (common <= keyMarker || seenPrefixes.has(common)) continue;
      seenPrefixes.add(common);
      entries.push({ prefix: common, key: common, id: '' });
    } else {
      entries.push(upload);
    }
  }
  const page = entries.slice(0, maxUploads);
  const truncated = entries.length > page.length;
  const last = page[page.length - 1];
  ctx.logger.info('ListMultipartUploads in bucket "%s": %d entries', ctx.params.bucket, page.length);
  ctx.body = {
    ListMultipartUploadsResult: {
      '@': { xmlns: XMLNS },
      Bucket: ctx.params.bucket,
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker,
      NextKeyMarker: truncated && last ? last.key : '',
      NextUploadIdMarker: truncated && last ? last.id : '',
      Delimiter: delimiter || undefined,
      Prefix: prefix,
      MaxUploads: maxUploads,
      IsTruncated: truncated,
      Upload: page
        .filter(e => !e.prefix)
        .map(u => ({
          Key: u.key,
          UploadId: u.id,
          Initiator: owner(),
          Owner: owner(),
          StorageClass: 'STANDARD',
          Initiated: u.initiated.toISOString(),
        })),
      CommonPrefixes: page.filter(e => e.prefix).map(e => ({ Prefix: e.prefix })),
    },
  };
}

/**
 * CopyObject: x-amz-copy-source is URL-encoded (S3 API reference: API_CopyObject), '/' included. s3rver splits it
 * after decodeURI, which leaves %2F alone; decode the separators first. Runs after authentication, which signed
 * the header as sent.
 */
async function decodeCopySource(ctx, next) {
  const source = ctx.headers['x-amz-copy-source'];
  if (source !== undefined) ctx.headers['x-amz-copy-source'] = source.replace(/%2F/gi, '/');
  return next();
}

/**
 * Registers a handler on s3rver's own router and moves it just before s3rver's handler for the same path and
 * method: it then runs after s3rver's authentication, bucket check and query-method parsing, and passes
 * anything it does not handle on to s3rver with next().
 */
function addBefore(method, routePath, handler) {
  const existing = router.stack.findIndex(l => l.path === routePath && l.methods.includes(method));
  router[method.toLowerCase()](routePath, handler);
  const added = router.stack.pop();
  if (existing < 0) throw new Error(`s3rver has no ${method} ${routePath} route: is this s3rver 3.7.1?`);
  router.stack.splice(existing, 0, added);
}

addBefore('GET', '/:bucket/:key+', listParts);
addBefore('DELETE', '/:bucket/:key+', abortMultipartUpload);
addBefore('GET', '/:bucket', listMultipartUploads);
addBefore('PUT', '/:bucket/:key+', decodeCopySource);

/**
 * ListObjects(V2) in the byte order of UTF-8 keys, as S3 lists them: s3rver's own listing (all of the prefix, in
 * the order of its folder walk) sorted, then cut after start-after and at max-keys.
 */
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const walkOrderListObjects = FilesystemStore.prototype.listObjects;
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { startAfter = '', maxKeys = Infinity } = options;
  const all = await walkOrderListObjects.call(this, bucket, { ...options, startAfter: '', maxKeys: Infinity });
  const after = all.objects.filter(o => byteOrder(o.key, startAfter) > 0).sort((a, b) => byteOrder(a.key, b.key));
  return {
    objects: after.slice(0, maxKeys),
    commonPrefixes: all.commonPrefixes.filter(p => byteOrder(p, startAfter) > 0).sort(byteOrder),
    isTruncated: after.length > maxKeys,
  };
};

const options = parseArgs(process.argv.slice(2));
new S3rver(options)
  .run()
  .then(({ address, port }) => {
    console.log();
    console.log('S3rver (with ListParts, AbortMultipartUpload, ListMultipartUploads) listening on %s:%d', address, port);
  })
  .catch(err => {
    console.error(err);
    process.exit(1);
  });

// pipelined.js — a Node.js client for a pipehost endpoint that uses length framing, pipelining its requests.
//
// Run it against a server started with `--framing length` (Node.js 18 or later, no npm packages):
//
//   pipehost run --framing length --pipe demo        (in one console)
//   node pipelined.js demo [COUNT]                   (in another; COUNT defaults to 100)
//
// It writes COUNT `ECHO <n>-<random>` requests back to back without waiting for any answer, reads the answers
// from the byte stream as they arrive — a chunk may hold part of a frame or several frames — and matches each
// one, in order, to its request (`OK <n>-<random>`). It prints one line, e.g.
//
//   pipelined: 100/100 matched, 56 chunks (3 ending mid-frame), 120 ms
//
// and exits 0 when every answer matched; 1 on a mismatch, an ERR answer, a connection closed early or a timeout
// (PIPEHOST_TIMEOUT_MS, default 30000); 2 on bad arguments.
//
// Why length framing: libuv (and so Node.js) reads a pipe as a byte stream and may merge queued writes into one,
// so on a message-mode pipe it can neither keep requests apart nor tell where an answer ends. With length
// framing each request and answer is a 4-byte little-endian length followed by that many bytes.
//
// Any account can run it against pipehost's default configuration, an ordinary user's included: libuv opens the
// pipe with GENERIC_READ | GENERIC_WRITE, which the default (a fixed pool of instances) grants to users. A server
// configured with MaxInstances=255 (unlimited) does not: see "Which rights a client needs" in ../README.md.
'use strict';

const net = require('node:net');
const crypto = require('node:crypto');

const MAX_ANSWER = 64 * 1024 * 1024; // refuse to buffer more than this for one answer

function usage(msg) {
  console.error(`${msg}\nusage: node pipelined.js PIPE_NAME [COUNT]   (PIPE_NAME: demo or \\\\.\\pipe\\demo)`);
  process.exit(2);
}

const name = process.argv[2];
if (!name) usage('missing pipe name');
const count = process.argv[3] === undefined ? 100 : Number(process.argv[3]);
if (!Number.isInteger(count) || count < 1) usage(`bad COUNT: ${process.argv[3]}`);
const timeoutMs = Number(process.env.PIPEHOST_TIMEOUT_MS || 30000);
const path = name.startsWith('\\\\') ? name : `\\\\.\\pipe\\${name}`;

// One frame: 4-byte little-endian length, then the bytes.
function frame(text) {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

// Collects chunks and hands out whole frames, however the stream was cut.
class FrameReader {
  constructor() {
    this.buf = Buffer.alloc(0);
  }

  // Appends a chunk; returns the whole frames it completed (possibly none).
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len > MAX_ANSWER) throw new Error(`answer length ${len} is over ${MAX_ANSWER}`);
      if (this.buf.length < 4 + len) break;
      frames.push(this.buf.subarray(4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
    }
    return frames;
  }

  get partial() {
    return this.buf.length > 0;
  }
}

const expected = [];
const requests = [];
for (let n = 0; n < count; n++) {
  // Payloads of varied length (about 10 B to 4 KB), so answers straddle the pipe's buffers and our reads.
  const payload = `${n}-${crypto.randomBytes(1 + ((n * 397) % 2000)).toString('hex')}`;
  requests.push(frame(`ECHO ${payload}`));
  expected.push(`OK ${payload}`);
}

const started = process.hrtime.bigint();
const reader = new FrameReader();
let matched = 0;
let chunks = 0;
let midFrame = 0; // chunks that ended inside a frame
let finished = false;

function finish(code, message) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  const ms = Number((process.hrtime.bigint() - started) / 1000000n);
  if (code === 0) {
    console.log(`pipelined: ${matched}/${count} matched, ${chunks} chunks (${midFrame} ending mid-frame), ${ms} ms`);
  } else {
    console.log(`pipelined: FAILED after ${matched}/${count} matched (${ms} ms): ${message}`);
  }
  process.exitCode = code;
  socket.destroy();
}

const timer = setTimeout(() => finish(1, `timed out after ${timeoutMs} ms`), timeoutMs);

const socket = net.connect(path, () => {
  // Back to back, without waiting: libuv queues the writes (and may merge them into fewer pipe writes).
  for (const req of requests) socket.write(req);
});

socket.on('data', (chunk) => {
  chunks++;
  let frames;
  try {
    frames = reader.push(chunk);
  } catch (err) {
    finish(1, err.message);
    return;
  }
  if (reader.partial) midFrame++;
  for (const f of frames) {
    if (matched >= count) {
      finish(1, `unexpected extra answer: ${JSON.stringify(f.toString('utf8').slice(0, 80))}`);
      return;
    }
    const got = f.toString('utf8');
    if (got !== expected[matched]) {
      finish(1, `answer ${matched} is ${JSON.stringify(got.slice(0, 80))}, ` +
                `expected ${JSON.stringify(expected[matched].slice(0, 80))}`);
      return;
    }
    matched++;
  }
  if (matched === count) finish(0);
});

socket.on('error', (err) => finish(1, `${err.code || 'error'}: ${err.message}`));
socket.on('close', () => finish(1, `server closed the connection${reader.partial ? ' in the middle of an answer' : ''}`));

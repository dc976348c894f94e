#!/usr/bin/env node
// Run an ONNX model with ONNX Runtime (CPU) on TensorProto inputs and write
// its outputs as TensorProto files, in the layout of ONNX's backend tests:
//
//   node ort_run.js [options] MODEL.onnx OUTDIR IN0.pb [IN1.pb ...]
//
// writes OUTDIR/output_K.pb (K = model output index, tensor name kept).
// An input file whose tensor name matches a model input feeds that input;
// unnamed inputs are matched by position.
//
// Options:
//   --threads N     intra-op threads (default: ORT's default)
//   --repeat N      time N runs after one warm-up and print the median
//   --opt LEVEL     graph optimisation: disabled|basic|extended|all (all)
//   --no-write      do not write outputs (timing only)
//
// TensorProto is read and written by hand (dims, data_type, name, raw_data
// and the typed *_data fields); outputs are always written with raw_data.

'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// ONNX TensorProto.DataType <-> onnxruntime-node tensor type.
const DTYPES = {
  1: { ort: 'float32', size: 4, array: Float32Array },
  2: { ort: 'uint8', size: 1, array: Uint8Array },
  3: { ort: 'int8', size: 1, array: Int8Array },
  4: { ort: 'uint16', size: 2, array: Uint16Array },
  5: { ort: 'int16', size: 2, array: Int16Array },
  6: { ort: 'int32', size: 4, array: Int32Array },
  7: { ort: 'int64', size: 8, array: BigInt64Array },
  9: { ort: 'bool', size: 1, array: Uint8Array },
  10: { ort: 'float16', size: 2, array: Uint16Array },
  11: { ort: 'float64', size: 8, array: Float64Array },
  12: { ort: 'uint32', size: 4, array: Uint32Array },
  13: { ort: 'uint64', size: 8, array: BigUint64Array },
};
const ORT_TO_ONNX = {};
for (const [code, d] of Object.entries(DTYPES)) ORT_TO_ONNX[d.ort] = Number(code);

// --- protobuf wire format -------------------------------------------------

class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  eof() { return this.pos >= this.buf.length; }
  varint() {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }
  bytes() {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function toSigned64(v) { return BigInt.asIntN(64, v); }

// Read a repeated scalar field that may be packed (wire 2) or not.
function readRepeated(r, wire, elemWire, decode, out) {
  if (wire === 2) {
    const sub = new Reader(r.bytes());
    while (!sub.eof()) out.push(decode(sub));
  } else if (wire === elemWire) {
    out.push(decode(r));
  } else {
    r.skip(wire);
  }
}

function parseTensorProto(buf) {
  const r = new Reader(buf);
  const t = { dims: [], dataType: 0, name: '', raw: null,
              floatData: [], int32Data: [], int64Data: [], doubleData: [],
              uint64Data: [], external: false };
  const varintDec = (x) => x.varint();
  const f32 = (x) => { const v = x.buf.readFloatLE(x.pos); x.pos += 4; return v; };
  const f64 = (x) => { const v = x.buf.readDoubleLE(x.pos); x.pos += 8; return v; };
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >>> 3;
    const wire = key & 7;
    switch (field) {
      case 1: { const d = []; readRepeated(r, wire, 0, varintDec, d);
                for (const v of d) t.dims.push(Number(toSigned64(v))); break; }
      case 2: t.dataType = Number(r.varint()); break;
      case 4: readRepeated(r, wire, 5, f32, t.floatData); break;
      case 5: { const d = []; readRepeated(r, wire, 0, varintDec, d);
                for (const v of d) t.int32Data.push(Number(BigInt.asIntN(32, v))); break; }
      case 7: { const d = []; readRepeated(r, wire, 0, varintDec, d);
                for (const v of d) t.int64Data.push(toSigned64(v)); break; }
      case 8: t.name = r.bytes().toString('utf8'); break;
      case 9: t.raw = r.bytes(); break;
      case 10: readRepeated(r, wire, 1, f64, t.doubleData); break;
      case 11: readRepeated(r, wire, 0, varintDec, t.uint64Data); break;
      case 13: t.external = true; r.skip(wire); break;
      default: r.skip(wire);
    }
  }
  if (t.external) throw new Error('external tensor data is not supported');
  return t;
}

function tensorFromProto(t, file) {
  const d = DTYPES[t.dataType];
  if (!d) throw new Error(`${file}: unsupported data_type ${t.dataType}`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw !== null) {
    if (t.raw.length !== count * d.size) {
      throw new Error(`${file}: raw_data has ${t.raw.length} bytes, expected ${count * d.size}`);
    }
    // Copy into an aligned buffer (the file buffer may be unaligned).
    const copy = new Uint8Array(t.raw.length);
    copy.set(t.raw);
    data = new d.array(copy.buffer);
  } else {
    data = new d.array(count);
    let src;
    if (t.dataType === 1) src = t.floatData;
    else if (t.dataType === 11) src = t.doubleData;
    else if (t.dataType === 7) src = t.int64Data;
    else if (t.dataType === 13 || t.dataType === 12) src = t.uint64Data;
    else src = t.int32Data;  // int8/16/32, uint8/16, bool, float16 bits
    if (src.length !== count) {
      throw new Error(`${file}: ${src.length} values, expected ${count}`);
    }
    for (let i = 0; i < count; i++) {
      const v = src[i];
      data[i] = (d.array === BigInt64Array || d.array === BigUint64Array)
        ? BigInt(v) : Number(v);
    }
  }
  return new ort.Tensor(d.ort, data, t.dims);
}

function encodeVarint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

function serializeTensorProto(name, tensor) {
  const code = ORT_TO_ONNX[tensor.type];
  if (!code) throw new Error(`output ${name}: unsupported type ${tensor.type}`);
  const parts = [];
  for (const dim of tensor.dims) {           // field 1, unpacked (proto2 style)
    parts.push(Buffer.from([0x08]), encodeVarint(dim));
  }
  parts.push(Buffer.from([0x10]), encodeVarint(code));   // field 2
  const nameBuf = Buffer.from(name, 'utf8');
  parts.push(Buffer.from([0x42]), encodeVarint(nameBuf.length), nameBuf);  // field 8
  const data = tensor.data;
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  parts.push(Buffer.from([0x4a]), encodeVarint(raw.length), raw);  // field 9
  return Buffer.concat(parts);
}

// --- main -----------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`ort_run.js: ${msg}`);
  console.error('usage: node ort_run.js [--threads N] [--repeat N] [--opt LEVEL] [--no-write] ' +
                'MODEL.onnx OUTDIR IN0.pb [IN1.pb ...]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { threads: 0, repeat: 0, opt: 'all', write: true, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--threads') opts.threads = parseInt(next(), 10);
    else if (a === '--repeat') opts.repeat = parseInt(next(), 10);
    else if (a === '--opt') opts.opt = next();
    else if (a === '--no-write') opts.write = false;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else opts.positional.push(a);
  }
  if (opts.positional.length < 3) usage('missing arguments');
  if (!['disabled', 'basic', 'extended', 'all'].includes(opts.opt)) usage(`bad --opt ${opts.opt}`);
  return opts;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const [modelPath, outDir, ...inputFiles] = opts.positional;

  const sessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.opt,
    logSeverityLevel: 3,
  };
  if (opts.threads > 0) {
    sessionOptions.intraOpNumThreads = opts.threads;
    sessionOptions.interOpNumThreads = 1;
  }
  const session = await ort.InferenceSession.create(modelPath, sessionOptions);

  const feeds = {};
  const names = session.inputNames;
  inputFiles.forEach((file, idx) => {
    const proto = parseTensorProto(fs.readFileSync(file));
    let name = proto.name;
    if (!name || !names.includes(name)) {
      if (idx >= names.length) throw new Error(`${file}: model has only ${names.length} inputs`);
      name = names[idx];
    }
    if (name in feeds) throw new Error(`${file}: input ${name} given twice`);
    feeds[name] = tensorFromProto(proto, file);
  });
  const missing = names.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`no data for model inputs: ${missing.join(', ')}`);

  let results = await session.run(feeds);

  if (opts.repeat > 0) {
    const times = [];
    for (let i = 0; i < opts.repeat; i++) {
      const t0 = process.hrtime.bigint();
      results = await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const thr = opts.threads > 0 ? opts.threads : 'default';
    console.log(`latency ${path.basename(path.dirname(modelPath))}/${path.basename(modelPath)} ` +
                `threads=${thr} runs=${times.length} median_ms=${median(times).toFixed(1)} ` +
                `min_ms=${Math.min(...times).toFixed(1)} max_ms=${Math.max(...times).toFixed(1)}`);
  }

  if (opts.write) {
    fs.mkdirSync(outDir, { recursive: true });
    session.outputNames.forEach((name, k) => {
      fs.writeFileSync(path.join(outDir, `output_${k}.pb`), serializeTensorProto(name, results[name]));
    });
  }
  if (typeof session.release === 'function') await session.release();
}

main().catch((err) => {
  console.error(`ort_run.js: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});

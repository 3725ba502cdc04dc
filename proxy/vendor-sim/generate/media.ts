import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32, deflateSync } from 'node:zlib';
import { Rng } from './rng.js';

const CHUNK = 64 * 1024;

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A real 16x16 RGB PNG (4x4 blocks of seeded colours) with a tEXt comment carrying `label`. */
export function tinyPng(seed: number, label: string): Buffer {
  const rng = new Rng(seed);
  const palette = Array.from({ length: 16 }, () => [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)] as const);
  const size = 16;
  const raw = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 3);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const [r, g, b] = palette[(y >> 2) * 4 + (x >> 2)] ?? [0, 0, 0];
      raw[row + 1 + x * 3] = r;
      raw[row + 2 + x * 3] = g;
      raw[row + 3 + x * 3] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('tEXt', Buffer.from(`Comment\0${label}`, 'latin1')),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function segment(marker: number, body: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** Standard JPEG luminance DC Huffman table (ITU T.81 K.3). */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CODES: readonly string[] = (() => {
  const codes: string[] = [];
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    for (let n = 0; n < (DC_BITS[len - 1] ?? 0); n++) codes.push((code++).toString(2).padStart(len, '0'));
    code <<= 1;
  }
  return codes;
})();

/**
 * A real baseline JPEG: one 8x8 grey block whose level comes from `seed`, plus a COM segment carrying `label`.
 * The AC table has a single code (end of block), so the scan is a DC value and an EOB.
 */
export function tinyJpeg(seed: number, label: string): Buffer {
  const level = new Rng(seed).int(16, 240);
  const dc = 8 * (level - 128);
  const magnitude = Math.abs(dc);
  const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
  const extra = category === 0 ? '' : (dc > 0 ? dc : dc + (1 << category) - 1).toString(2).padStart(category, '0');
  let bits = (DC_CODES[category] ?? '') + extra + '0';
  bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, '1');
  const scan: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    const byte = parseInt(bits.slice(i, i + 8), 2);
    scan.push(byte);
    if (byte === 0xff) scan.push(0x00);
  }
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])),
    segment(0xfe, Buffer.from(label, 'latin1')),
    segment(0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 1)])),
    segment(0xc0, Buffer.from([0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00])),
    segment(0xc4, Buffer.from([0x00, ...DC_BITS, ...Array.from({ length: 12 }, (_, i) => i)])),
    segment(0xc4, Buffer.from([0x10, 1, ...new Array<number>(15).fill(0), 0x00])),
    segment(0xda, Buffer.from([0x01, 0x01, 0x00, 0x00, 0x3f, 0x00])),
    Buffer.from(scan),
    Buffer.from([0xff, 0xd9]),
  ]);
}

export function encodedImageSize(kind: 'png' | 'jpeg', seed: number, label: string): number {
  return (kind === 'png' ? tinyPng(seed, label) : tinyJpeg(seed, label)).length;
}

/** 44-byte PCM WAV header: mono, 8 kHz, 16-bit, `dataBytes` of samples following. */
export function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE((36 + dataBytes) >>> 0, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes >>> 0, 40);
  return h;
}

/** `length` deterministic pseudo-random bytes (AES-256-CTR keystream of the seed), produced on demand. */
export function noiseStream(seed: number, length: number, prefix?: Buffer): Readable {
  const key = createHash('sha256').update(`media|${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  let left = length;
  let head = prefix;
  return new Readable({
    read(): void {
      if (head) {
        const h = head.subarray(0, Math.min(head.length, left));
        head = undefined;
        left -= h.length;
        this.push(h);
        if (left === 0) this.push(null);
        return;
      }
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK, left);
      left -= n;
      this.push(cipher.update(zeros.subarray(0, n)));
      if (left === 0) this.push(null);
    },
  });
}

/** The bytes of a file as a stream: tiny real images, or header + noise up to `size`. */
export function mediaContent(spec: { content: 'png' | 'jpeg' | 'wav' | 'random'; contentSeed: number; fileId: string; size: number }): Readable {
  switch (spec.content) {
    case 'png':
      return Readable.from([tinyPng(spec.contentSeed, spec.fileId)], { objectMode: false });
    case 'jpeg':
      return Readable.from([tinyJpeg(spec.contentSeed, spec.fileId)], { objectMode: false });
    case 'wav':
      return noiseStream(spec.contentSeed, Math.max(44, spec.size), wavHeader(Math.max(0, spec.size - 44)));
    case 'random':
      return noiseStream(spec.contentSeed, spec.size);
  }
}

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeZipFile, type ZipWriterOptions } from '../../../proxy/archive/zip-writer.js';
import { makeTempDir, randomData, test7z, testUnzip, textData } from '../../helpers/archive-tools.js';

const KEY = 'Archive-Key-123!';
let work: string;
let n = 0;

beforeAll(async () => {
  work = await makeTempDir();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const files = (): { name: string; data: Buffer | NodeJS.ReadableStream }[] => [
  { name: 'records/a.json', data: textData(100_000) },
  { name: 'media/b.bin', data: Readable.from([randomData(70_000), randomData(5)]) },
  { name: 'empty', data: Buffer.alloc(0) },
  { name: 'streamed/text.json', data: Readable.from([textData(50_000, 's')]) },
];

async function build(options: ZipWriterOptions): Promise<string> {
  const path = join(work, `w-${++n}.zip`);
  await writeZipFile(path, files(), options);
  return path;
}

describe('real tools open archives from our writer', () => {
  const aes: [string, ZipWriterOptions][] = [
    ['AE-2', { encryption: 'aes-256', password: KEY }],
    ['AE-1', { encryption: 'aes-256', password: KEY, aesVersion: 1 }],
    ['AE-2 store, forced Zip64', { encryption: 'aes-256', password: KEY, compression: 'store', zip64: 'force' }],
  ];
  for (const [label, options] of aes) {
    it(`7z t accepts AES-256 ${label} and refuses a wrong key`, async () => {
      const zip = await build(options);
      expect(await test7z(zip, KEY)).toBe(true);
      expect(await test7z(zip, 'wrong')).toBe(false);
    });
  }

  const zc: [string, ZipWriterOptions][] = [
    ['deflate', { encryption: 'zipcrypto', password: KEY }],
    ['store, forced Zip64', { encryption: 'zipcrypto', password: KEY, compression: 'store', zip64: 'force' }],
  ];
  for (const [label, options] of zc) {
    it(`unzip -t and 7z t accept ZipCrypto ${label}`, async () => {
      const zip = await build(options);
      expect(await testUnzip(zip, KEY)).toBe(true);
      expect(await test7z(zip, KEY)).toBe(true);
      expect(await testUnzip(zip, 'wrong')).toBe(false);
    });
  }

  it('unzip -t accepts an unencrypted archive', async () => {
    expect(await testUnzip(await build({ encryption: 'none' }), '')).toBe(true);
  });
});

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CustodyTap } from '../../../proxy/portal/export/custody-tap.js';

const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

describe('CustodyTap', () => {
  it('a finish that fails (hash not on record) aborts the export once, with the reason, and fails the stream', async () => {
    const aborts: [string, number][] = [];
    const tap = new CustodyTap(() => Promise.reject(new Error('audit log unavailable')), (reason, size) => {
      aborts.push([reason, size]);
      return Promise.resolve();
    });
    await expect(pipeline(Readable.from([Buffer.from('abc'), Buffer.from('de')]), tap, sink())).rejects.toThrow('audit log unavailable');
    await new Promise((r) => setImmediate(r));
    expect(aborts).toEqual([['recording the sha256 failed: audit log unavailable', 5]]);
  });

  it('a finish that succeeds records the sha256 and size and never aborts', async () => {
    const done: { sha256: string; size: number }[] = [];
    let aborted = 0;
    const tap = new CustodyTap((r) => { done.push(r); return Promise.resolve(); }, () => { aborted++; return Promise.resolve(); });
    await pipeline(Readable.from([Buffer.from('abc')]), tap, sink());
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual([{ sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', size: 3 }]);
    expect(aborted).toBe(0);
  });
});

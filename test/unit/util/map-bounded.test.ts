import { describe, expect, it } from 'vitest';
import { mapBounded } from '../../../proxy/util/map-bounded.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapBounded', () => {
  it('keeps the items\' order and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapBounded([50, 10, 30, 0, 20, 5], 3, async (ms, i) => {
      most = Math.max(most, ++inFlight);
      await tick(ms);
      inFlight--;
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:50', '1:10', '2:30', '3:0', '4:20', '5:5']);
    expect(most).toBe(3);
  });

  it('throws the first failure only after every started call settled, and starts no new one', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = mapBounded([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      try {
        await tick(i === 1 ? 5 : 30);
        if (i === 1) throw new Error('one failed');
        return i;
      } finally {
        settled++;
      }
    });
    await expect(run).rejects.toThrow('one failed');
    expect(settled).toBe(started.length);
    expect(started).toEqual([0, 1]);
  });

  it('a limit that is not a number >= 1 runs one call at a time, and a synchronous throw is a failure like any other', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapBounded([1, 2, 3], Number.NaN, async (x) => {
      most = Math.max(most, ++inFlight);
      await tick(1);
      inFlight--;
      return x * 2;
    });
    expect(out).toEqual([2, 4, 6]);
    expect(most).toBe(1);
    await expect(mapBounded([1, 2], 0, (x) => {
      if (x === 1) throw new Error('sync');
      return Promise.resolve(x);
    })).rejects.toThrow('sync');
  });

  it('with two failures, the first to happen is thrown', async () => {
    const run = mapBounded([30, 5], 2, async (ms) => {
      await tick(ms);
      throw new Error(`after ${ms}`);
    });
    await expect(run).rejects.toThrow('after 5');
  });

  it('an empty list gives an empty result', async () => {
    expect(await mapBounded([], 4, () => Promise.resolve(1))).toEqual([]);
  });
});

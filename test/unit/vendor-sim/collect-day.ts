import { GeneratedDay } from '../../../proxy/vendor-sim/index.js';
import type { DayOptions } from '../../../proxy/vendor-sim/index.js';

/** Test helper: every entry of a (small) generated day, in archive order, as bytes. */
export async function collectDay(options: DayOptions): Promise<{ day: GeneratedDay; entries: Map<string, Buffer> }> {
  const day = new GeneratedDay(options);
  const entries = new Map<string, Buffer>();
  for await (const entry of day.entries()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.data) chunks.push(chunk as Buffer);
    if (entries.has(entry.path)) throw new Error(`duplicate entry ${entry.path}`);
    entries.set(entry.path, Buffer.concat(chunks));
  }
  return { day, entries };
}

export const BASE_OPTIONS: DayOptions = {
  serviceId: 'svc1001',
  jobId: '0b9e0a52-5c1f-4e3a-9d7a-2f4f6c1d8e01',
  createdAt: new Date('2026-03-01T02:00:00Z'),
  seed: 'unit-seed',
  records: 400,
  mediaBytes: 64 * 1024,
};

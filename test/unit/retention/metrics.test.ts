import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../../../proxy/metrics/metrics.js';

describe('retention metrics', () => {
  it('exports run outcomes, the last run time (from the database when given) and records per action and data type', async () => {
    const at = new Date('2026-12-02T04:30:00Z');
    const m = new ProxyMetrics({
      outboxDepth: () => Promise.resolve(0), lease: () => undefined,
      replicaSet: () => Promise.resolve({ kind: 'standalone', degraded: false, majorityWritable: true, detail: '' }),
      retentionLastRun: () => Promise.resolve(at),
    });
    m.runFinished('done', new Date());
    m.runFinished('failed', new Date());
    m.records('destroyed', 'calls', 7);
    m.records('archived', 'media:voicemail', 2);
    const { body } = await m.exposition();
    expect(body).toContain('retention_runs_total{outcome="done"} 1');
    expect(body).toContain('retention_runs_total{outcome="failed"} 1');
    expect(body).toContain(`retention_last_run_timestamp_seconds ${at.getTime() / 1000}`);
    expect(body).toContain('retention_records_total{action="destroyed",dataType="calls"} 7');
    expect(body).toContain('retention_records_total{action="archived",dataType="media:voicemail"} 2');
  });
});

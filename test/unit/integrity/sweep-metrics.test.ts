import { describe, expect, it } from 'vitest';
import { interpretReplicaSet } from '../../../proxy/ha/replica-set-health.js';
import { ProxyMetrics, type LastSweep } from '../../../proxy/metrics/metrics.js';

const standalone = interpretReplicaSet({ set: 'rs0', members: [{ _id: 0, name: 'db1:27017', health: 1, stateStr: 'PRIMARY' }], writeMajorityCount: 1 });
const lines = (body: string, name: string): string[] => body.split('\n').filter((l) => l.startsWith(name)).sort();

describe('/metrics: the last fixity sweep', () => {
  it('exports when it finished, what it re-hashed and its problems by kind', async () => {
    const sweep: LastSweep = {
      finishedAt: new Date('2026-12-01T03:00:00Z'), ok: false,
      counts: { records: 1200, mediaFiles: 40, mediaBytes: 5_000_000, auditEntries: 77 },
      problemCounts: { changed: 2, missing: 1, untracked: 0, 'tombstoned-present': 0, 'tombstone-unproven': 0, removed: 0, inserted: 0, unchained: 0 },
    };
    const m = new ProxyMetrics({ outboxDepth: () => Promise.resolve(0), lease: () => undefined, replicaSet: () => Promise.resolve(standalone), lastSweep: () => Promise.resolve(sweep) });
    const { body } = await m.exposition();
    expect(lines(body, 'retention_proxy_integrity_last_sweep_timestamp_seconds')).toEqual([`retention_proxy_integrity_last_sweep_timestamp_seconds ${String(Date.parse('2026-12-01T03:00:00Z') / 1000)}`]);
    expect(lines(body, 'retention_proxy_integrity_last_sweep_problems{')).toEqual(expect.arrayContaining([
      'retention_proxy_integrity_last_sweep_problems{kind="changed"} 2', 'retention_proxy_integrity_last_sweep_problems{kind="missing"} 1',
    ]) as string[]);
    expect(lines(body, 'retention_proxy_integrity_last_sweep_checked{')).toEqual([
      'retention_proxy_integrity_last_sweep_checked{what="audit_entries"} 77', 'retention_proxy_integrity_last_sweep_checked{what="media_bytes"} 5000000',
      'retention_proxy_integrity_last_sweep_checked{what="media_files"} 40', 'retention_proxy_integrity_last_sweep_checked{what="records"} 1200',
    ]);
  });

  it('shows timestamp 0 and no problems before the first sweep', async () => {
    const m = new ProxyMetrics({ outboxDepth: () => Promise.resolve(0), lease: () => undefined, replicaSet: () => Promise.resolve(standalone), lastSweep: () => Promise.resolve(null) });
    const { body } = await m.exposition();
    expect(lines(body, 'retention_proxy_integrity_last_sweep_timestamp_seconds ')).toEqual(['retention_proxy_integrity_last_sweep_timestamp_seconds 0']);
    expect(lines(body, 'retention_proxy_integrity_last_sweep_problems{')).toEqual([]);
  });
});

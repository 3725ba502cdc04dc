import { describe, expect, it } from 'vitest';
import type { LeaseStatus } from '../../../proxy/ha/lease.js';
import { interpretReplicaSet } from '../../../proxy/ha/replica-set-health.js';
import { ProxyMetrics } from '../../../proxy/metrics/metrics.js';

const lease: LeaseStatus = { holder: true, nodeId: 'node-a', token: 7, expiresAt: '2026-11-22T12:00:30.000Z', leader: { nodeId: 'node-a', token: 7, expiresAt: '2026-11-22T12:00:30.000Z' } };
const degraded = interpretReplicaSet({
  set: 'rs0',
  members: [
    { _id: 0, name: 'db1:27017', health: 1, stateStr: 'PRIMARY' },
    { _id: 1, name: 'db2:27017', health: 0, stateStr: '(not reachable/healthy)' },
    { _id: 2, name: 'arb:27017', health: 1, stateStr: 'ARBITER' },
  ],
  writeMajorityCount: 2,
});

function sample(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe('Prometheus exposition', () => {
  it('exposes pipeline counters, stage durations, failures by code, outbox depth, lease and replica set state', async () => {
    const m = new ProxyMetrics({ outboxDepth: () => Promise.resolve(3), lease: () => lease, replicaSet: () => Promise.resolve(degraded) });
    m.archivePulled(1000);
    m.archivePulled(24);
    m.archiveImported(600);
    m.stageSeconds('download', 2.5);
    m.failure('DB_NOT_DURABLE');
    m.failure('DB_NOT_DURABLE');
    m.failure('SFTP_TIMEOUT');
    m.cycleFinished(true, new Date('2026-11-22T12:00:00Z'));
    const { contentType, body } = await m.exposition();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(body, 'retention_proxy_archives_pulled_total')).toEqual(['retention_proxy_archives_pulled_total 2']);
    expect(sample(body, 'retention_proxy_bytes_pulled_total')).toEqual(['retention_proxy_bytes_pulled_total 1024']);
    expect(sample(body, 'retention_proxy_records_imported_total')).toEqual(['retention_proxy_records_imported_total 600']);
    expect(body).toContain('retention_proxy_stage_duration_seconds_count{stage="download"} 1');
    expect(body).toContain('retention_proxy_failures_total{code="DB_NOT_DURABLE"} 2');
    expect(body).toContain('retention_proxy_failures_total{code="SFTP_TIMEOUT"} 1');
    expect(body).toContain('retention_proxy_cycles_total{result="ok"} 1');
    expect(sample(body, 'retention_proxy_last_successful_cycle_timestamp_seconds')).toEqual([`retention_proxy_last_successful_cycle_timestamp_seconds ${Date.UTC(2026, 10, 22, 12) / 1000}`]);
    expect(sample(body, 'retention_proxy_outbox_depth')).toEqual(['retention_proxy_outbox_depth 3']);
    expect(sample(body, 'retention_proxy_database_up')).toEqual(['retention_proxy_database_up 1']);
    expect(sample(body, 'retention_proxy_lease_holder')).toEqual(['retention_proxy_lease_holder 1']);
    expect(sample(body, 'retention_proxy_lease_token')).toEqual(['retention_proxy_lease_token 7']);
    expect(sample(body, 'retention_proxy_replica_set_degraded')).toEqual(['retention_proxy_replica_set_degraded 1']);
    expect(sample(body, 'retention_proxy_replica_set_majority_writable')).toEqual(['retention_proxy_replica_set_majority_writable 0']);
    expect(body).toContain('retention_proxy_replica_set_member_healthy{member="db2:27017",state="(not reachable/healthy)",data_bearing="true"} 0');
    expect(body).toContain('retention_proxy_replica_set_member_healthy{member="db1:27017",state="PRIMARY",data_bearing="true"} 1');
    expect(body).not.toContain('process_cpu'); // process metrics only when the daemon asks for them
  });

  it('uses its own registry: two instances do not collide, and a database failure shows as database_up 0', async () => {
    const down = new ProxyMetrics({ outboxDepth: () => Promise.reject(new Error('down')), lease: () => undefined, replicaSet: () => Promise.resolve({ kind: 'standalone', degraded: false, majorityWritable: true, detail: '' }) });
    const other = new ProxyMetrics({ outboxDepth: () => Promise.resolve(0), lease: () => undefined, replicaSet: () => Promise.resolve({ kind: 'standalone', degraded: false, majorityWritable: true, detail: '' }) });
    other.enableProcessMetrics();
    other.enableProcessMetrics();
    const body = (await down.exposition()).body;
    expect(sample(body, 'retention_proxy_database_up')).toEqual(['retention_proxy_database_up 0']);
    expect(sample(body, 'retention_proxy_ha_enabled')).toEqual(['retention_proxy_ha_enabled 0']);
    expect(sample(body, 'retention_proxy_lease_holder')).toEqual(['retention_proxy_lease_holder 1']); // without HA it always leads
    expect((await other.exposition()).body).toContain('retention_proxy_process_cpu_seconds_total');
  });
});

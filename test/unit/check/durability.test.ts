import { readFile } from 'node:fs/promises';
import { BSON, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { durabilityLine } from '../../../proxy/check/replica-set.js';
import { interpretReplicaSet, type ReplicaSetHealth } from '../../../proxy/ha/replica-set-health.js';

async function fixture(name: string): Promise<ReplicaSetHealth> {
  const read = async (kind: string): Promise<Document> =>
    BSON.EJSON.parse(await readFile(new URL(`../ha/fixtures/${name}.${kind}.json`, import.meta.url), 'utf8'), { relaxed: true }) as Document;
  return interpretReplicaSet(await read('status'), await read('config'));
}

const standalone: ReplicaSetHealth = { kind: 'standalone', degraded: false, majorityWritable: true, detail: 'not a replica set' };
const oneMember = interpretReplicaSet(
  { set: 'rs0', writeMajorityCount: 1, members: [{ _id: 0, name: 'db1:27017', health: 1, stateStr: 'PRIMARY', self: true }] },
  { members: [{ _id: 0, host: 'db1:27017', votes: 1, priority: 1 }] },
);

/** Issue 11 item 9: `check` FAILs where an acknowledged write lives on one server only, unless accepted explicitly. */
describe('check: mongodb durability', () => {
  it('passes a healthy PSA set (a majority write is on two data-bearing members)', async () => {
    expect(durabilityLine(await fixture('psa-healthy'), false)).toMatchObject({ name: 'mongodb durability', status: 'PASS' });
  });

  it.each([
    ['a standalone server (or FerretDB)', standalone],
    ['a one-member replica set', oneMember],
  ])('fails %s, and only warns when mongodb.allowSingleNode accepts it', (_what, health) => {
    const refused = durabilityLine(health, false);
    expect(refused.status).toBe('FAIL');
    expect(refused.detail).toContain('mongodb.allowSingleNode');
    expect(durabilityLine(health, true).status).toBe('WARN');
  });

  it('fails a PSA set whose down secondary lost its vote (write majority of one) unless accepted', async () => {
    const h = await fixture('psa-secondary-down-votes0');
    if (h.kind !== 'replicaSet') throw new Error(h.kind);
    expect(h.writeMajorityCount).toBe(1);
    expect(durabilityLine(h, false).status).toBe('FAIL');
    expect(durabilityLine(h, true).status).toBe('WARN');
  });

  it('fails when it cannot tell (no permission to read the replica set status) unless mongodb.allowSingleNode accepts it', () => {
    const unknown = { kind: 'unknown', degraded: false, majorityWritable: null, detail: 'not permitted' } as const;
    expect(durabilityLine(unknown, false).status).toBe('FAIL');
    expect(durabilityLine(unknown, false).detail).toContain('clusterMonitor');
    expect(durabilityLine(unknown, true).status).toBe('WARN');
  });
});

import { readFile } from 'node:fs/promises';
import { BSON, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { interpretReplicaSet } from '../../../proxy/ha/replica-set-health.js';

/** replSetGetStatus / replSetGetConfig replies of a PSA set in the shape MongoDB 4.2 returns them (EJSON). */
async function fixture(name: string): Promise<{ status: Document; config: Document }> {
  const read = async (kind: string): Promise<Document> =>
    BSON.EJSON.parse(await readFile(new URL(`./fixtures/${name}.${kind}.json`, import.meta.url), 'utf8'), { relaxed: true }) as Document;
  return { status: await read('status'), config: await read('config') };
}

describe('replica set status interpretation (PSA)', () => {
  it('healthy PSA: not degraded, majority-writable, arbiter is not data-bearing', async () => {
    const { status, config } = await fixture('psa-healthy');
    const h = interpretReplicaSet(status, config);
    expect(h).toMatchObject({ kind: 'replicaSet', set: 'rs0', primary: 'db1.example.internal:27017', degraded: false, majorityWritable: true, dataBearingDown: [] });
    if (h.kind !== 'replicaSet') throw new Error('kind');
    expect(h.members.map((m) => [m.state, m.dataBearing])).toEqual([['PRIMARY', true], ['SECONDARY', true], ['ARBITER', false]]);
  });

  it('PSA with the secondary down: degraded, the missing data-bearing member named, majority writes stall', async () => {
    const { status, config } = await fixture('psa-secondary-down');
    const h = interpretReplicaSet(status, config);
    expect(h).toMatchObject({ kind: 'replicaSet', degraded: true, majorityWritable: false, dataBearingDown: ['db2.example.internal:27017'], writeMajorityCount: 2 });
    expect(h.detail).toContain('majority writes cannot be acknowledged');
  });

  it('the same without permission to read the config: a member that is down counts as data-bearing (errs towards alarm)', async () => {
    const { status } = await fixture('psa-secondary-down');
    const h = interpretReplicaSet(status);
    expect(h).toMatchObject({ degraded: true, majorityWritable: false, dataBearingDown: ['db2.example.internal:27017'] });
  });

  it('after the runbook (votes 0 / priority 0 for the dead member): still degraded, but majority writes work again', async () => {
    const { status, config } = await fixture('psa-secondary-down-votes0');
    const h = interpretReplicaSet(status, config);
    expect(h).toMatchObject({ degraded: true, majorityWritable: true, dataBearingDown: ['db2.example.internal:27017'], writeMajorityCount: 1 });
    // Without the server's writeMajorityCount (older servers) the same rule is computed from the config.
    const { writeMajorityCount: _drop, ...older } = status;
    expect(interpretReplicaSet(older, config)).toMatchObject({ majorityWritable: true, writeMajorityCount: 1 });
    expect(interpretReplicaSet(older, (await fixture('psa-secondary-down')).config)).toMatchObject({ majorityWritable: false, writeMajorityCount: 2 });
  });

  it('PSA with the arbiter down: degraded, but no data-bearing member missing and majority writes still work', async () => {
    const { status, config } = await fixture('psa-arbiter-down');
    const h = interpretReplicaSet(status, config);
    expect(h).toMatchObject({ degraded: true, majorityWritable: true, dataBearingDown: [] });
  });
});

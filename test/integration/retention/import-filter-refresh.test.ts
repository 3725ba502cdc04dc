import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DispositionFilter } from '../../../proxy/importer/disposition-filter.js';
import { RECORD_COLLECTIONS } from '../../../proxy/portal/queries/types.js';
import { tombstoneId } from '../../../proxy/retention/tombstones.js';
import { RETENTION_COLLECTIONS } from '../../../proxy/retention/types.js';
import { testDatabase, type TestDatabase } from '../../helpers/db.js';

interface Doc { _id: string; [k: string]: unknown }

describe('retention on import: the disposition filter sees a run that starts during the import', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase('ret_filter_refresh');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('tombstones and archive marks written after the import opened its filter are obeyed by later batches; a delivered _archived is dropped', async () => {
    const filter = await DispositionFilter.open(t.db);
    const col = RECORD_COLLECTIONS.calls;
    expect((await filter.records(col, [{ _id: 'a', _archived: null }], undefined)).map((d) => ({ ...d }))).toEqual([{ _id: 'a' }]);
    // A retention run in another process destroys b and archives c.
    await t.db.collection<Doc>(RETENTION_COLLECTIONS.runs).insertOne({ _id: 'run-1', planOnly: false, state: 'running' });
    await t.db.collection<Doc>(RETENTION_COLLECTIONS.tombstones).insertOne({ _id: tombstoneId(col, 'b'), collection: col, recordId: 'b', kind: 'record' });
    const mark = { runId: 'run-1', policyId: 'p', at: new Date() };
    await t.db.collection<Doc>(col).insertOne({ _id: 'c', _archived: mark });
    const kept = await filter.records(col, [{ _id: 'b' }, { _id: 'c' }], undefined);
    expect(kept).toEqual([{ _id: 'c', _archived: mark }]);
    expect(filter.skipped[col]).toBe(1);
  });
});

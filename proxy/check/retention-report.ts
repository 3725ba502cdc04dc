import type { Db } from 'mongodb';
import type { CheckLine } from './run-checks.js';

const STALE_MS = 48 * 3_600_000;

/**
 * The `retention runs` line of `check` (docs/retention.md): FAIL when the last run failed, WARN when policies exist
 * but no run finished in the last 48 hours (the nightly run is not running), else PASS.
 */
export async function retentionReport(db: Db, now = new Date()): Promise<CheckLine> {
  const name = 'retention runs';
  const policies = await db.collection('retention.policies').countDocuments({});
  const [last] = await db.collection<{ _id: string; state: string; finishedAt?: Date; errors?: { code: string; message: string }[] }>('retention.runs')
    .find({ state: { $in: ['done', 'failed'] }, planOnly: false }, { projection: { state: 1, finishedAt: 1, errors: 1 } })
    .sort({ finishedAt: -1 }).limit(1).toArray();
  if (last?.state === 'failed') {
    const first = last.errors?.[0];
    return { name, status: 'FAIL', detail: `the last run ${last._id} failed${first ? ` (${first.code}: ${first.message})` : ''}` };
  }
  if (policies === 0) return { name, status: 'PASS', detail: 'no retention policy: everything is kept' };
  if (!last?.finishedAt || now.getTime() - last.finishedAt.getTime() > STALE_MS) {
    return { name, status: 'WARN', detail: `${policies} polic${policies === 1 ? 'y' : 'ies'} but no run finished in the last 48 h${last?.finishedAt ? ` (last ${last.finishedAt.toISOString()})` : ''}` };
  }
  return { name, status: 'PASS', detail: `last run ${last._id} finished ${last.finishedAt.toISOString()} (${policies} polic${policies === 1 ? 'y' : 'ies'})` };
}

import type { Db } from 'mongodb';
import { RECORD_INDEXES } from '../portal/indexes.js';
import type { CheckLine } from './run-checks.js';

const SHOWN = 5;

/**
 * The `portal indexes` line of `check` (issue 12 item 10): the proxy builds the record collections' portal indexes
 * in the background after start (proxy/portal/index-build.ts), so a large database can be serving while some are
 * still missing. `check` runs in its own process, so it reads what the database has: WARN naming the indexes not
 * there yet (still building, or waiting for the next start), PASS when all are. Collections that do not exist yet
 * (no records) need none.
 */
export async function indexReport(db: Db): Promise<CheckLine> {
  const name = 'portal indexes';
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  let total = 0;
  const missing: string[] = [];
  for (const [collection, specs] of Object.entries(RECORD_INDEXES)) {
    if (!existing.has(collection)) continue;
    const have = new Set((await db.collection(collection).listIndexes().toArray()).map((i) => String((i as { name?: unknown }).name)));
    for (const spec of specs) {
      total++;
      if (!have.has(spec.name)) missing.push(`${collection}.${spec.name}`);
    }
  }
  if (total === 0) return { name, status: 'PASS', detail: 'no record collections yet (their indexes are built when the proxy starts)' };
  if (missing.length === 0) return { name, status: 'PASS', detail: `all ${total} record indexes are built` };
  const shown = missing.slice(0, SHOWN).join(', ') + (missing.length > SHOWN ? `, and ${missing.length - SHOWN} more` : '');
  return {
    name, status: 'WARN',
    detail: `${missing.length} of ${total} record indexes still building (the running proxy builds them in the background, one at a time; lists are slower until then; /readyz \`indexes\` lists them): ${shown}`,
  };
}

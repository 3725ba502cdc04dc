/**
 * Issue 13 item 3, the portal half: every portal list's first page (API p95, and the bare driver query of the same
 * rows beside it) in the year's database against in a database holding one imported day ("empty-ish"), same run,
 * alternated list by list. Target: year p95 <= 1.3x. A list that fails (QUERY_TIMEOUT on FerretDB at size) is a failed
 * row, and the next list is still measured.
 */
import { MongoClient } from 'mongodb';
import { measure, openPortalApp, scenarios, type Measured, type PortalApp } from './portal-lists.js';
import { load1 } from './quiet.js';
import type { BenchContext, BenchRow } from './types.js';

const TARGET = '>= 0.77x (year p95 <= 1.3x)';

function row(name: string, year: Measured, small: Measured, sizes: { year: number; small: number }, iterations: number): BenchRow {
  const label = `${name}: API p95 in the year (${sizes.year} records) vs a database of one day (${sizes.small})`;
  if (!year.ok || !small.ok) {
    return { group: 'year', name: label, ours: year.ok ? `p95 ${year.o95.toFixed(0)} ms` : `failed: ${year.failure}`, peer: small.ok ? `p95 ${small.o95.toFixed(0)} ms` : `failed: ${small.failure}`, ratio: null, target: TARGET, pass: false, raw: {} };
  }
  return {
    group: 'year',
    name: label,
    ours: `p50 ${year.o50.toFixed(0)} ms, p95 ${year.o95.toFixed(0)} ms (driver p95 ${year.p95.toFixed(0)} ms, ${(year.p95 / Math.max(small.p95, 0.001)).toFixed(2)}x the day's)`,
    peer: `p50 ${small.o50.toFixed(0)} ms, p95 ${small.o95.toFixed(0)} ms (driver p95 ${small.p95.toFixed(0)} ms)`,
    ratio: small.o95 / year.o95,
    target: TARGET,
    pass: year.o95 <= 1.3 * small.o95,
    raw: { yearRecords: sizes.year, smallRecords: sizes.small, iterations, yearApiP50Ms: year.o50, yearApiP95Ms: year.o95, yearDriverP95Ms: year.p95, smallApiP50Ms: small.o50, smallApiP95Ms: small.o95, smallDriverP95Ms: small.p95 },
  };
}

/**
 * `iterations` timed requests per list and side after one warm-up (BENCH_YEAR_PORTAL_ITERATIONS, default 3: p95 of
 * three is their slowest), API then driver each time. Both databases must hold the portal's indexes and room statistics
 * (the year's are stored by the bench, the day's by its import).
 */
export async function benchYearPortal(ctx: BenchContext, mongoUri: string, dbs: { year: string; small: string }, sizes: { year: number; small: number }, iterations: number): Promise<BenchRow[]> {
  const client = new MongoClient(mongoUri);
  await client.connect();
  const apps: PortalApp[] = [];
  try {
    const year = await openPortalApp(client, dbs.year);
    apps.push(year);
    const small = await openPortalApp(client, dbs.small);
    apps.push(small);
    const smallScenarios = scenarios(client.db(dbs.small));
    const rows: BenchRow[] = [];
    for (const [i, s] of scenarios(client.db(dbs.year)).entries()) {
      const ss = smallScenarios[i];
      if (!ss) break;
      const y = await measure(year, s, iterations, { warmups: 1 });
      const m = await measure(small, ss, iterations, { warmups: 1 });
      const show = (x: Measured): string => (x.ok ? `API p95 ${x.o95.toFixed(0)} ms, driver p95 ${x.p95.toFixed(0)} ms` : `FAILED ${x.failure}`);
      ctx.log(`year: portal ${s.name}: in the year ${show(y)}; one day ${show(m)} (load ${load1()})`);
      rows.push(row(s.name, y, m, sizes, iterations));
    }
    return rows;
  } finally {
    for (const a of apps) await a.app.close().catch(() => undefined);
    await client.close();
  }
}

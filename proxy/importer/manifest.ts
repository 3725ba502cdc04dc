import { readFile, stat } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ProxyError } from '../errors.js';
import { MANIFEST_PATH } from './entry-mapping.js';

/**
 * `manifest.json`, optional, at the top level of an archive. When present the import only goes ahead if the archive
 * matches it exactly:
 * ```json
 * { "version": 1, "serviceId": "svc-1", "jobId": "<uuid>", "createdAt": "2024-05-01T02:00:00Z",
 *   "entries": [{ "path": "history/messages.json", "size": 1234, "sha256": "<64 hex>" }],
 *   "records": { "history/messages.json": 10 } }
 * ```
 * - `entries` lists every file of the archive except manifest.json itself, with its plaintext size and sha256;
 * - `records` gives the number of records of every record file (0 for an empty one).
 */
export const ManifestSchema = Type.Object(
  {
    version: Type.Literal(1),
    serviceId: Type.String({ minLength: 1 }),
    jobId: Type.String({ minLength: 1 }),
    createdAt: Type.String({ minLength: 1 }),
    entries: Type.Array(
      Type.Object(
        {
          path: Type.String({ minLength: 1 }),
          size: Type.Integer({ minimum: 0 }),
          sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }),
        },
        { additionalProperties: false },
      ),
    ),
    records: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: true },
);

export type Manifest = Static<typeof ManifestSchema>;

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Reads and validates manifest.json (MANIFEST_INVALID on any problem). */
export async function readManifest(file: string): Promise<Manifest> {
  const { size } = await stat(file);
  if (size > MAX_MANIFEST_BYTES) throw new ProxyError('MANIFEST_INVALID', `larger than ${MAX_MANIFEST_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ProxyError('MANIFEST_INVALID', `not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return parseManifest(value);
}

export function parseManifest(value: unknown): Manifest {
  if (!Value.Check(ManifestSchema, value)) {
    const first = Value.Errors(ManifestSchema, value).First();
    throw new ProxyError('MANIFEST_INVALID', first ? `${first.path || '/'}: ${first.message}` : 'does not match the schema', {
      details: first ? { path: first.path } : {},
    });
  }
  if (Number.isNaN(Date.parse(value.createdAt))) {
    throw new ProxyError('MANIFEST_INVALID', '/createdAt: not a date', { details: { path: '/createdAt' } });
  }
  const seen = new Set<string>();
  for (const e of value.entries) {
    if (seen.has(e.path)) throw new ProxyError('MANIFEST_INVALID', `entry listed twice: ${e.path}`, { details: { path: e.path } });
    seen.add(e.path);
  }
  return value;
}

export interface ManifestCheckInput {
  /** Every file of the archive (manifest.json included or not), as recorded by extraction. */
  entries: readonly { path: string; size: number; sha256: string }[];
  /** Parsed record count of every record file. */
  recordCounts: ReadonlyMap<string, number>;
}

/** Verifies that the archive matches its manifest; throws MANIFEST_MISMATCH naming the first difference. */
export function verifyManifest(manifest: Manifest, input: ManifestCheckInput): void {
  const actual = new Map(input.entries.filter((e) => e.path !== MANIFEST_PATH && !e.path.endsWith('/')).map((e) => [e.path, e]));
  for (const listed of manifest.entries) {
    const found = actual.get(listed.path);
    if (!found) mismatch(listed.path, 'listed in the manifest but missing from the archive');
    if (found.size !== listed.size) mismatch(listed.path, `size ${found.size} but the manifest says ${listed.size}`);
    if (found.sha256.toLowerCase() !== listed.sha256.toLowerCase()) mismatch(listed.path, 'sha256 differs from the manifest');
  }
  const listedPaths = new Set(manifest.entries.map((e) => e.path));
  for (const path of actual.keys()) {
    if (!listedPaths.has(path)) mismatch(path, 'in the archive but not listed in the manifest');
  }
  for (const [path, count] of Object.entries(manifest.records)) {
    const parsed = input.recordCounts.get(path);
    if (parsed === undefined) mismatch(path, 'the manifest gives a record count for a file that is not a record file of the archive');
    if (parsed !== count) mismatch(path, `${parsed} records but the manifest says ${count}`);
  }
  for (const path of input.recordCounts.keys()) {
    if (!Object.hasOwn(manifest.records, path)) mismatch(path, 'record file has no record count in the manifest');
  }
}

/** What the archive's file name says: `backup_{serviceId}_{jobId}_{yyyymmddhhmmss}.zip`. */
export interface ArchiveIdentity {
  readonly serviceId: string;
  readonly jobId: string;
  readonly createdAt: Date;
}

/**
 * The manifest's `serviceId`, `jobId` and `createdAt` must be those of the archive's file name (MANIFEST_MISMATCH).
 * WinZip AES authenticates each entry's content, but the file name is not authenticated at all: without this check an
 * older archive (with its intact manifest) published under a new job's name would be imported and reported as that
 * job, and the vendor would then delete the new job's data. `createdAt` is compared to the second (the name's
 * resolution); the job id without regard to case (the name parser lower-cases it).
 */
export function verifyManifestIdentity(manifest: Manifest, archive: ArchiveIdentity): void {
  const differs = (field: string, inManifest: string, inName: string): never => {
    throw new ProxyError('MANIFEST_MISMATCH', `manifest.json ${field} ${JSON.stringify(inManifest)} differs from the archive name's ${JSON.stringify(inName)}`, {
      details: { path: MANIFEST_PATH, field, manifest: inManifest, name: inName },
    });
  };
  if (manifest.serviceId !== archive.serviceId) differs('serviceId', manifest.serviceId, archive.serviceId);
  if (manifest.jobId.toLowerCase() !== archive.jobId.toLowerCase()) differs('jobId', manifest.jobId, archive.jobId);
  const seconds = (ms: number): number => Math.floor(ms / 1000);
  if (seconds(Date.parse(manifest.createdAt)) !== seconds(archive.createdAt.getTime())) {
    differs('createdAt', manifest.createdAt, archive.createdAt.toISOString());
  }
}

function mismatch(path: string, why: string): never {
  throw new ProxyError('MANIFEST_MISMATCH', `${path}: ${why}`, { details: { path } });
}

import { createHash } from 'node:crypto';
import { Long, type ObjectId } from 'mongodb';
import { makeFileSpec, type FileCategory, type FileSpec } from './file-spec.js';
import { callWithFiles, conferenceWithFile, messageWithFile } from './history.js';
import { objectIdAt, staffAt, TAG_NAMES } from './people.js';
import type { DayPlan } from './plan.js';
import { Rng } from './rng.js';

/** A record of file-management/files.json. `size` is an Int64. */
export interface FileDoc {
  _id: ObjectId; fileId: string; category: FileCategory; name: string; mimeType: string; size: Long; sha256: string;
  storagePath: string; roomId?: string; messageId?: string; callId?: string; conferenceId?: string; ownerId?: string;
  uploadedAt: Date;
}

function tagIcon(plan: DayPlan, t: number): FileSpec {
  const rng = Rng.of(plan.serviceSeed, 'tag-icon', t);
  return makeFileSpec(plan, rng, { category: 'tag-icon', format: 'png', baseName: `tag-${TAG_NAMES[t] ?? t}`, uploadedAt: plan.serviceEpoch - 400 * 86_400_000 });
}

function avatar(plan: DayPlan, i: number): FileSpec | undefined {
  const rng = Rng.of(plan.serviceSeed, 'avatar', i);
  if (!rng.bool(0.4)) return undefined;
  const staff = staffAt(plan, i);
  return makeFileSpec(plan, rng, {
    category: 'avatar', format: rng.bool(0.5) ? 'png' : 'jpeg', baseName: `avatar-${staff.staffId.slice(0, 8)}`,
    uploadedAt: staff.createdAt.getTime(), ownerId: staff.staffId,
  });
}

/**
 * Every file of the day, in archive order: tag icons, staff avatars, room files (message order), call recordings and
 * voicemails (call order), conference recordings. Regenerated on each call; nothing is held in memory.
 */
export function* enumerateFiles(plan: DayPlan): Generator<FileSpec> {
  for (let t = 0; t < plan.tags; t++) yield tagIcon(plan, t);
  for (let i = 0; i < plan.staff; i++) {
    const f = avatar(plan, i);
    if (f) yield f;
  }
  for (let m = 0; m < plan.messages; m++) {
    const { file } = messageWithFile(plan, m);
    if (file) yield file;
  }
  for (let k = 0; k < plan.calls; k++) yield* callWithFiles(plan, k).files;
  for (let c = 0; c < plan.conferences; c++) {
    const { file } = conferenceWithFile(plan, c);
    if (file) yield file;
  }
}

export function fileDoc(spec: FileSpec, sha256: string): FileDoc {
  const seed = createHash('sha256').update(spec.fileId).digest().readUInt32BE(0);
  return {
    _id: objectIdAt(new Rng(seed), spec.uploadedAt.getTime()),
    fileId: spec.fileId, category: spec.category, name: spec.name, mimeType: spec.mimeType, size: Long.fromNumber(spec.size),
    sha256, storagePath: spec.storagePath,
    ...(spec.roomId !== undefined && { roomId: spec.roomId }),
    ...(spec.messageId !== undefined && { messageId: spec.messageId }),
    ...(spec.callId !== undefined && { callId: spec.callId }),
    ...(spec.conferenceId !== undefined && { conferenceId: spec.conferenceId }),
    ...(spec.ownerId !== undefined && { ownerId: spec.ownerId }),
    uploadedAt: spec.uploadedAt,
  };
}

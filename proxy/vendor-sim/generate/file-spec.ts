import type { DayPlan } from './plan.js';
import { Rng } from './rng.js';
import { encodedImageSize } from './media.js';

export type FileCategory = 'room-file' | 'voicemail' | 'call-recording' | 'conference-recording' | 'avatar' | 'tag-icon';
/** How the bytes are made: tiny real images, a WAV header + noise, or plain random bytes. */
export type ContentKind = 'png' | 'jpeg' | 'wav' | 'random';

export interface FileSpec {
  readonly fileId: string;
  readonly category: FileCategory;
  readonly name: string;
  readonly mimeType: string;
  readonly size: number;
  readonly content: ContentKind;
  /** Seed of the file's bytes. */
  readonly contentSeed: number;
  /** Path inside the archive: `data-retention/<category>/<fileId>.<ext>`. */
  readonly storagePath: string;
  readonly uploadedAt: Date;
  readonly roomId?: string;
  readonly messageId?: string;
  readonly callId?: string;
  readonly conferenceId?: string;
  readonly ownerId?: string;
}

interface FormatInfo { readonly ext: string; readonly mimeType: string; readonly content: ContentKind }
export const FORMATS = {
  png: { ext: 'png', mimeType: 'image/png', content: 'png' },
  jpeg: { ext: 'jpg', mimeType: 'image/jpeg', content: 'jpeg' },
  wav: { ext: 'wav', mimeType: 'audio/wav', content: 'wav' },
  pdf: { ext: 'pdf', mimeType: 'application/pdf', content: 'random' },
  docx: { ext: 'docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', content: 'random' },
  mp4: { ext: 'mp4', mimeType: 'video/mp4', content: 'random' },
} as const satisfies Record<string, FormatInfo>;
export type FormatName = keyof typeof FORMATS;

/**
 * Average size of one non-image media file so that the day's media adds up to about `plan.mediaBytes`
 * (images are tiny real PNG/JPEG files and are not counted against the budget).
 */
export function mediaUnitBytes(plan: DayPlan): number {
  const expected = plan.messages * 0.1 + plan.calls * (0.65 * 0.5 + 0.08) + plan.conferences * 0.5;
  return Math.max(64, Math.floor(plan.mediaBytes / Math.max(1, expected)));
}

export interface FileSpecInput {
  readonly category: FileCategory;
  readonly format: FormatName;
  /** Original file name without extension. */
  readonly baseName: string;
  readonly uploadedAt: number;
  readonly roomId?: string;
  readonly messageId?: string;
  readonly callId?: string;
  readonly conferenceId?: string;
  readonly ownerId?: string;
}

/** Builds a file's record; `rng` must be the owner's generator so that the same owner always yields the same file. */
export function makeFileSpec(plan: DayPlan, rng: Rng, input: FileSpecInput): FileSpec {
  const fmt: FormatInfo = FORMATS[input.format];
  const fileId = rng.uuid();
  const contentSeed = Math.floor(rng.next() * 4294967296) >>> 0;
  const jitter = 0.5 + rng.next();
  const size = fmt.content === 'png' || fmt.content === 'jpeg'
    ? encodedImageSize(fmt.content, contentSeed, fileId)
    : Math.max(64, Math.round(mediaUnitBytes(plan) * jitter));
  const spec: FileSpec = {
    fileId,
    category: input.category,
    name: `${input.baseName}.${fmt.ext}`,
    mimeType: fmt.mimeType,
    size,
    content: fmt.content,
    contentSeed,
    storagePath: `data-retention/${input.category}/${fileId}.${fmt.ext}`,
    uploadedAt: new Date(input.uploadedAt),
    ...(input.roomId !== undefined && { roomId: input.roomId }),
    ...(input.messageId !== undefined && { messageId: input.messageId }),
    ...(input.callId !== undefined && { callId: input.callId }),
    ...(input.conferenceId !== undefined && { conferenceId: input.conferenceId }),
    ...(input.ownerId !== undefined && { ownerId: input.ownerId }),
  };
  return spec;
}

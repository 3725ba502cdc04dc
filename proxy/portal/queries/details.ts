import type { Db, Document } from 'mongodb';
import { RETENTION_FIELD, type RetentionStamp } from '../../importer/index.js';
import { recordHistory } from './history.js';
import type { ListService } from './list-service.js';
import { toRow, type Row } from './rows.js';
import { LIST_DEFS, RECORD_COLLECTIONS, type ListTypeDef } from './types.js';
import { visible } from './visible.js';

const THREAD_LIMIT = 5000;

export interface ThreadItem { kind: 'message' | 'call' | 'conference' | 'file'; at: Date | null; item: Row }

export interface Detail { item: Row; provenance: RetentionStamp | null; [extra: string]: unknown }

const dateOf = (v: unknown): Date | null => (v instanceof Date ? v : null);

/** Detail pages: the record, where it came from, and what belongs to it. */
export class DetailService {
  constructor(private readonly db: Db, private readonly lists: ListService) {}

  private rowsOf(def: ListTypeDef, filter: Document, sort: Document, limit = THREAD_LIMIT): Promise<Row[]> {
    return this.db.collection(def.collection).find(visible(filter), { maxTimeMS: this.lists.timeouts.queryMs }).sort(sort).limit(limit).toArray().then((docs) => docs.map((d) => toRow(def, d)));
  }

  private async one(def: ListTypeDef, id: string | undefined): Promise<Row | undefined> {
    if (!id) return undefined;
    const doc = await this.lists.findDoc(def, id);
    if (!doc) return undefined;
    return (await this.lists.enrich(def, [toRow(def, doc)]))[0];
  }

  async detail(def: ListTypeDef, id: string): Promise<Detail | undefined> {
    const doc = await this.lists.findDoc(def, id);
    if (!doc) return undefined;
    const [item] = await this.lists.enrich(def, [toRow(def, doc)]);
    const provenance = (doc[RETENTION_FIELD] as RetentionStamp | undefined) ?? null;
    const base: Detail = { item: item ?? toRow(def, doc), provenance };
    switch (def.name) {
      case 'enquiries':
        return { ...base, ...(await this.enquiryExtras(base.item)) };
      case 'rooms': {
        const [extras, history] = await Promise.all([this.roomExtras(base.item), this.history(def, id)]);
        return { ...base, ...extras, history };
      }
      case 'calls': {
        const [recording, voicemail, enquiry] = await Promise.all([
          this.one(LIST_DEFS.files, str(base.item.recordingFileId)),
          this.one(LIST_DEFS.files, str(base.item.voicemailFileId)),
          this.one(LIST_DEFS.enquiries, str(base.item.enquiryId)),
        ]);
        return { ...base, ...(recording ? { recording } : {}), ...(voicemail ? { voicemail } : {}), ...(enquiry ? { enquiry } : {}) };
      }
      case 'conferences': {
        const recording = await this.one(LIST_DEFS.files, str(base.item.recordingFileId));
        return { ...base, ...(recording ? { recording } : {}) };
      }
      case 'files':
      case 'voicemails':
      case 'recordings': {
        const [withOwner] = await this.lists.enrich(LIST_DEFS.recordings, [base.item]);
        const [message, room] = await Promise.all([this.one(LIST_DEFS.messages, str(base.item.messageId)), this.one(LIST_DEFS.rooms, str(base.item.roomId))]);
        return { ...base, item: withOwner ?? base.item, ...(message ? { message } : {}), ...(room ? { room } : {}) };
      }
      case 'messages': {
        const room = await this.one(LIST_DEFS.rooms, str(base.item.roomId));
        return { ...base, ...(room ? { room } : {}) };
      }
      case 'staff':
      case 'contacts':
        return { ...base, history: await this.history(def, id) };
      case 'audit':
        return base;
    }
  }

  /** Every stored version of a person or room, newest first, with what changed and from which archive. */
  history(def: ListTypeDef, id: string): ReturnType<typeof recordHistory> {
    return recordHistory(this.db, def, id, this.lists.timeouts.queryMs);
  }

  /** The enquiry's thread: messages, calls, conferences and unattached files of its room, in time order. */
  async thread(enquiry: Row): Promise<ThreadItem[]> {
    const roomId = str(enquiry.roomId);
    const byEnquiry = { enquiryId: enquiry.id };
    const [messages, calls, conferences, files] = await Promise.all([
      this.rowsOf(LIST_DEFS.messages, byEnquiry, { sentAt: 1, _id: 1 }),
      this.lists.enrich(LIST_DEFS.calls, await this.rowsOf(LIST_DEFS.calls, byEnquiry, { startedAt: 1, _id: 1 })),
      roomId ? this.rowsOf(LIST_DEFS.conferences, { roomId }, { startedAt: 1, _id: 1 }) : Promise.resolve([]),
      roomId ? this.rowsOf(LIST_DEFS.files, { roomId, messageId: { $exists: false } }, { uploadedAt: 1, _id: 1 }) : Promise.resolve([]),
    ]);
    const items: ThreadItem[] = [
      ...messages.map((item) => ({ kind: 'message' as const, at: dateOf(item.sentAt), item })),
      ...calls.map((item) => ({ kind: 'call' as const, at: dateOf(item.startedAt), item })),
      ...conferences.map((item) => ({ kind: 'conference' as const, at: dateOf(item.startedAt), item })),
      ...files.map((item) => ({ kind: 'file' as const, at: dateOf(item.uploadedAt), item })),
    ];
    return items.sort((a, b) => (a.at?.getTime() ?? 0) - (b.at?.getTime() ?? 0));
  }

  private async enquiryExtras(enquiry: Row): Promise<Document> {
    const [room, thread] = await Promise.all([this.one(LIST_DEFS.rooms, str(enquiry.roomId)), this.thread(enquiry)]);
    return { ...(room ? { room } : {}), thread };
  }

  private async roomExtras(room: Row): Promise<Document> {
    const [conferenceCount, recentMessages] = await Promise.all([
      this.db.collection(RECORD_COLLECTIONS.conferences).countDocuments(visible({ roomId: room.id }), { maxTimeMS: this.lists.timeouts.queryMs }),
      this.rowsOf(LIST_DEFS.messages, { roomId: room.id }, { sentAt: 1, _id: 1 }, 50),
    ]);
    return {
      stats: {
        messageCount: room.messageCount ?? 0,
        callCount: room.callCount ?? 0,
        conferenceCount,
        firstActivityAt: room.firstActivityAt ?? null,
        lastActivityAt: room.lastActivityAt ?? null,
      },
      participants: room.participants ?? [],
      recentMessages,
    };
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

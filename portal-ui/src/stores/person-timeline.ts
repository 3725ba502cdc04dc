import { defineStore } from 'pinia';
import { ref } from 'vue';
import { person as personApi } from '../api/endpoints';
import type { CaseExport, TimelineEntry, TimelinePage } from '../api/person-types';

export const TIMELINE_PAGE_SIZE = 50;
const POLL_MS = 1000;
const POLL_MAX = 600;

/** A person page's timeline (one person, one range, pages appended by cursor) and its case export. */
export const usePersonTimelineStore = defineStore('person-timeline', () => {
  const items = ref<TimelineEntry[]>([]);
  const person = ref<TimelinePage['person'] | null>(null);
  const nextCursor = ref<string | null>(null);
  const loading = ref(false);
  const error = ref<unknown>(null);
  /** `${list}/${id}?from&to` of what is shown; a newer request wins. */
  const key = ref('');
  const caseExport = ref<CaseExport | null>(null);
  const exportError = ref<unknown>(null);
  let pollTimer: number | undefined;

  async function load(list: 'contacts' | 'staff', id: string, from: string, to: string, more = false): Promise<void> {
    const k = `${list}/${id}?${from}&${to}`;
    if (!more) {
      key.value = k;
      items.value = [];
      nextCursor.value = null;
      stopPolling();
      caseExport.value = null;
      exportError.value = null;
    }
    loading.value = true;
    error.value = null;
    try {
      const page = await personApi.timeline(list, id, { from, to, limit: TIMELINE_PAGE_SIZE, cursor: more ? nextCursor.value : undefined });
      if (key.value !== k) return;
      person.value = page.person;
      items.value = more ? [...items.value, ...page.items] : page.items;
      nextCursor.value = page.nextCursor;
    } catch (err) {
      if (key.value === k) error.value = err;
    } finally {
      if (key.value === k) loading.value = false;
    }
  }

  async function prepareExport(kind: 'contact' | 'staff', id: string, from: string, to: string): Promise<void> {
    exportError.value = null;
    stopPolling();
    try {
      caseExport.value = await personApi.createExport({ person: { kind, id }, from, to });
    } catch (err) {
      exportError.value = err;
    }
  }

  function stopPolling(): void {
    if (pollTimer !== undefined) window.clearTimeout(pollTimer);
    pollTimer = undefined;
  }

  /** After the download started: asks for the export until its sha256 is recorded (or it was aborted). */
  function followDownload(): void {
    stopPolling();
    let n = 0;
    const tick = async (): Promise<void> => {
      const current = caseExport.value;
      if (!current) return;
      try {
        const info = await personApi.exportInfo(current.id);
        if (caseExport.value?.id !== info.id) return;
        caseExport.value = info;
        if (info.state === 'done' || info.state === 'aborted') return;
      } catch (err) {
        exportError.value = err;
        return;
      }
      if (++n < POLL_MAX) pollTimer = window.setTimeout(() => void tick(), POLL_MS);
    };
    pollTimer = window.setTimeout(() => void tick(), POLL_MS / 2);
  }

  return { items, person, nextCursor, loading, error, caseExport, exportError, load, prepareExport, followDownload, stopPolling };
});

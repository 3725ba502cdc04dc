import { defineStore } from 'pinia';
import { ref } from 'vue';
import { person as personApi } from '../api/endpoints';
import type { TimelineEntry, TimelinePage } from '../api/person-types';

export const TIMELINE_PAGE_SIZE = 50;

/** A person page's timeline: one person, one range, pages appended by cursor. */
export const usePersonTimelineStore = defineStore('person-timeline', () => {
  const items = ref<TimelineEntry[]>([]);
  const person = ref<TimelinePage['person'] | null>(null);
  const nextCursor = ref<string | null>(null);
  const loading = ref(false);
  const error = ref<unknown>(null);
  /** `${list}/${id}?from&to` of what is shown; a newer request wins. */
  const key = ref('');

  async function load(list: 'contacts' | 'staff', id: string, from: string, to: string, more = false): Promise<void> {
    const k = `${list}/${id}?${from}&${to}`;
    if (!more) {
      key.value = k;
      items.value = [];
      nextCursor.value = null;
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

  return { items, person, nextCursor, loading, error, load };
});

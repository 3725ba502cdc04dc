import { defineStore } from 'pinia';
import { ref } from 'vue';
import { audit as auditApi } from '../api/endpoints';
import type { Query } from '../api/http';
import type { AuditEntry } from '../api/types';

/** The audit log (admin), cursor paginated like the record lists. */
export const useAuditStore = defineStore('audit', () => {
  const items = ref<AuditEntry[]>([]);
  const nextCursor = ref<string | null>(null);
  const loading = ref(false);
  const error = ref<unknown>(null);
  let activeQuery: Query = {};

  async function fetchPage(query: Query, append: boolean): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      const page = await auditApi.list(query);
      items.value = append ? [...items.value, ...page.items] : page.items;
      nextCursor.value = page.nextCursor;
    } catch (err) {
      error.value = err;
    } finally {
      loading.value = false;
    }
  }

  async function load(query: Query): Promise<void> {
    activeQuery = query;
    await fetchPage(query, false);
  }
  async function loadMore(): Promise<void> {
    if (nextCursor.value) await fetchPage({ ...activeQuery, cursor: nextCursor.value }, true);
  }

  return { items, nextCursor, loading, error, load, loadMore };
});

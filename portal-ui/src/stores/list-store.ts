import { defineStore } from 'pinia';
import { ref, shallowRef, watch } from 'vue';
import { records } from '../api/endpoints';
import type { Query } from '../api/http';
import type { Detail, RecordType, RecordTypes } from '../api/types';

/** A query as a stable string (empty values left out, keys sorted): equal filters give equal keys. */
export function queryKey(query: Query): string {
  return JSON.stringify(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '').sort(([a], [b]) => a.localeCompare(b)));
}

const storageKey = (type: RecordType) => `retention-portal:list:${type}`;

function savedListQuery(type: RecordType): Record<string, string> {
  try {
    const v: unknown = JSON.parse(sessionStorage.getItem(storageKey(type)) ?? '{}');
    if (!v || typeof v !== 'object') return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

function saveListQuery(type: RecordType, q: Record<string, string>): void {
  try {
    sessionStorage.setItem(storageKey(type), JSON.stringify(q));
  } catch {
    /* storage full or disabled: the in-memory value still works */
  }
}

/**
 * One Pinia store per record type (`records-calls`, `records-files`, ...), made by the same factory: the current
 * list (filters, loaded pages, next cursor) and the record open in the detail view.
 */
function defineRecordStore<K extends RecordType>(type: K) {
  return defineStore(`records-${type}`, () => {
    const items = shallowRef<RecordTypes[K][]>([]);
    const nextCursor = ref<string | null>(null);
    const loading = ref(false);
    const error = ref<unknown>(null);
    /** The filters of the requested list, as a stable string: a view re-fetches only when they change. */
    const loadedKey = ref<string | null>(null);
    /** The filters the rows on show belong to (set when their first page arrives). */
    const shownKey = ref<string | null>(null);
    const detail = shallowRef<Detail<K> | null>(null);
    const detailLoading = ref(false);
    const detailError = ref<unknown>(null);
    /** The URL query of the list as last shown, so "back to the list" keeps its filters (also after a reload). */
    const listRouteQuery = ref<Record<string, string>>(savedListQuery(type));
    watch(listRouteQuery, (q) => saveListQuery(type, q));
    let controller: AbortController | null = null;
    /** Every list request gets the next number; only the newest one's answer is ever shown. */
    let listSeq = 0;
    let detailSeq = 0;
    let detailId: string | null = null;
    let activeQuery: Query = {};

    async function fetchPage(query: Query, append: boolean): Promise<void> {
      controller?.abort();
      const ctl = new AbortController();
      controller = ctl;
      const seq = ++listSeq;
      const forKey = loadedKey.value;
      // A response for anything but the newest request of these filters is superseded: dropped, never shown.
      const superseded = (): boolean => ctl.signal.aborted || seq !== listSeq || forKey !== loadedKey.value;
      loading.value = true;
      error.value = null;
      try {
        const page = await records.list(type, query, ctl.signal);
        if (superseded()) return;
        items.value = append ? [...items.value, ...page.items] : page.items;
        nextCursor.value = page.nextCursor;
        shownKey.value = loadedKey.value;
      } catch (err) {
        if (superseded()) return;
        shownKey.value = loadedKey.value;
        error.value = err;
        if (!append) items.value = [];
      } finally {
        if (controller === ctl) {
          loading.value = false;
          controller = null;
        }
      }
    }

    /** Loads the first page for these filters (no-op when they are already loaded, unless `force`). */
    async function load(query: Query, force = false): Promise<void> {
      const key = queryKey(query);
      if (!force && key === loadedKey.value && !error.value) return;
      loadedKey.value = key;
      activeQuery = query;
      nextCursor.value = null;
      await fetchPage(query, false);
    }

    async function loadMore(): Promise<void> {
      if (!nextCursor.value || loading.value) return;
      await fetchPage({ ...activeQuery, cursor: nextCursor.value }, true);
    }

    async function loadDetail(id: string): Promise<void> {
      // Always asks the server (each view is an audit event); keeps showing the same record while it reloads.
      if (detailId !== id) detail.value = null;
      detailId = id;
      detailError.value = null;
      detailLoading.value = detail.value === null;
      const seq = ++detailSeq;
      try {
        const d = await records.detail(type, id);
        if (seq === detailSeq) detail.value = d;
      } catch (err) {
        if (seq === detailSeq) detailError.value = err;
      } finally {
        if (seq === detailSeq) detailLoading.value = false;
      }
    }

    function reset(): void {
      controller?.abort();
      controller = null;
      listSeq++;
      loading.value = false;
      items.value = [];
      nextCursor.value = null;
      loadedKey.value = null;
      detail.value = null;
      detailId = null;
    }

    return { type, listRouteQuery, shownKey, items, nextCursor, loading, error, detail, detailLoading, detailError, load, loadMore, loadDetail, reset };
  });
}

/** A record store as components see it (Pinia's own inferred type does not survive the generic factory). */
export interface RecordStore<K extends RecordType> {
  readonly type: K;
  listRouteQuery: Record<string, string>;
  readonly items: RecordTypes[K][];
  readonly nextCursor: string | null;
  readonly shownKey: string | null;
  readonly loading: boolean;
  readonly error: unknown;
  readonly detail: Detail<K> | null;
  readonly detailLoading: boolean;
  readonly detailError: unknown;
  load(query: Query, force?: boolean): Promise<void>;
  loadMore(): Promise<void>;
  loadDetail(id: string): Promise<void>;
  reset(): void;
}

const definitions = new Map<RecordType, () => unknown>();

/** The store of one record type (defined on first use). */
export function useRecordStore<K extends RecordType>(type: K): RecordStore<K> {
  let def = definitions.get(type);
  if (!def) {
    def = defineRecordStore(type);
    definitions.set(type, def);
  }
  return def() as RecordStore<K>;
}

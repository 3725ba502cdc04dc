import { computed, watch } from 'vue';
import type { RecordType } from '../api/types';
import { LISTS } from '../lists/definitions';
import { useRecordStore } from '../stores/list-store';

/**
 * Loads the record `id()` of `type` into its store. `layout` is what every detail page hands DetailLayout
 * (`v-bind="layout"`): the link back to the list with its last filters, loading and error states, provenance, the record for its Retention panel.
 */
export function useDetail<K extends RecordType>(type: K, id: () => string) {
  const store = useRecordStore(type);
  watch(id, (v) => void store.loadDetail(v), { immediate: true });
  const detail = computed(() => store.detail);
  const layout = computed(() => ({
    back: { name: type, query: store.listRouteQuery },
    backLabel: LISTS[type].title,
    loading: store.detailLoading,
    error: store.detailError,
    provenance: store.detail?.provenance,
    retention: store.detail ? { type, id: id(), media: mediaOf(store.detail.item) } : undefined,
  }));
  return { store, detail, layout, reload: () => store.loadDetail(id()) };
}

/** A file record's binary, as the retention API names it: `media:<category>` and its storage path. */
function mediaOf(item: unknown): { type: string; id: string } | undefined {
  const f = item as { category?: unknown; storagePath?: unknown } | null | undefined;
  return typeof f?.category === 'string' && typeof f.storagePath === 'string' ? { type: `media:${f.category}`, id: f.storagePath } : undefined;
}

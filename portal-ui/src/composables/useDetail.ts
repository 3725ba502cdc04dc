import { computed, watch } from 'vue';
import type { RecordType } from '../api/types';
import { LISTS } from '../lists/definitions';
import { useRecordStore } from '../stores/list-store';

/** Loads the record `id()` of `type` into its store; gives the link back to the list with its last filters. */
export function useDetail<K extends RecordType>(type: K, id: () => string) {
  const store = useRecordStore(type);
  watch(id, (v) => void store.loadDetail(v), { immediate: true });
  const back = computed(() => ({ name: type, query: store.listRouteQuery }));
  const detail = computed(() => store.detail);
  return { store, detail, back, backLabel: LISTS[type].title, reload: () => store.loadDetail(id()) };
}

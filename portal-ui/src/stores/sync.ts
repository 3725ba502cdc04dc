import { defineStore } from 'pinia';
import { ref } from 'vue';
import { sync as syncApi } from '../api/endpoints';
import type { SyncHealth, SyncHistory, SyncJob } from '../api/types';

/** Refresh period while an archive is in flight (its progress is written every 2 s), and while nothing is. */
export const POLL_ACTIVE_MS = 2000;
export const POLL_IDLE_MS = 10_000;
/** The 30-day history changes at most once per archive: refreshed this often, and when an archive finished. */
const HISTORY_EVERY_MS = 60_000;
const IN_FLIGHT = new Set(['discovered', 'downloading', 'downloaded', 'importing']);

/** The local backup log, the proxy's health and the 30-day history (admin); refreshes itself while the page is open. */
export const useSyncStore = defineStore('sync', () => {
  const jobs = ref<SyncJob[]>([]);
  const health = ref<SyncHealth | null>(null);
  const history = ref<SyncHistory | null>(null);
  const loading = ref(false);
  const error = ref<unknown>(null);
  const healthError = ref<unknown>(null);
  const historyError = ref<unknown>(null);
  const stateFilter = ref<string | undefined>(undefined);
  /** Only the newest request's answer is shown (a slow poll must not overwrite a newer filter's rows). */
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Each startPolling() starts a generation; a tick of an older one (stopped, restarted) does nothing. */
  let generation = 0;
  let polling = false;
  let historyAt = 0;
  let finishedCount = -1;

  async function load(state?: string): Promise<void> {
    stateFilter.value = state;
    const mine = ++seq;
    loading.value = true;
    error.value = null;
    const [j, h] = await Promise.allSettled([syncApi.jobs({ limit: 200, state }), syncApi.health()]);
    if (mine !== seq) return;
    if (j.status === 'fulfilled') jobs.value = j.value.items;
    else error.value = j.reason;
    if (h.status === 'fulfilled') {
      health.value = h.value;
      healthError.value = null;
    } else healthError.value = h.reason;
    loading.value = false;
    const finished = jobs.value.filter((x) => x.state === 'imported' || x.state === 'reported').length;
    if (Date.now() - historyAt > HISTORY_EVERY_MS || finished !== finishedCount) {
      finishedCount = finished;
      await loadHistory();
    }
  }

  async function loadHistory(): Promise<void> {
    historyAt = Date.now();
    try {
      history.value = await syncApi.history(30);
      historyError.value = null;
    } catch (err) {
      historyError.value = err;
    }
  }

  const active = (): boolean => health.value?.running === true || jobs.value.some((x) => IN_FLIGHT.has(x.state));

  function schedule(gen: number): void {
    if (!polling || gen !== generation) return;
    timer = setTimeout(() => void tick(gen), active() ? POLL_ACTIVE_MS : POLL_IDLE_MS);
  }

  async function tick(gen: number): Promise<void> {
    timer = undefined;
    if (gen !== generation) return;
    // A hidden tab asks nothing; it catches up on the next tick after it is shown again.
    if (typeof document === 'undefined' || !document.hidden) await load(stateFilter.value);
    schedule(gen);
  }

  /** Loads now and keeps refreshing until stopPolling() (the view calls it when it is left). */
  function startPolling(state?: string): void {
    stopPolling();
    polling = true;
    const gen = ++generation;
    finishedCount = -1;
    void load(state).finally(() => schedule(gen));
  }

  function stopPolling(): void {
    polling = false;
    generation++;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  return { jobs, health, history, loading, error, healthError, historyError, stateFilter, load, loadHistory, startPolling, stopPolling };
});

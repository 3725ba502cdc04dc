/**
 * `fn` over every item with at most `limit` calls in flight; results in the items' order. The first failure stops
 * new calls, and is thrown once every call already started has settled (none is left running behind the caller).
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (err) {
        failure ??= { error: err };
      }
    }
  };
  const workers = Number.isFinite(limit) && limit >= 1 ? Math.min(Math.floor(limit), items.length) : 1;
  await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

import type { RecordType, RecordTypes } from '../api/types';

export type CellKind = 'text' | 'date' | 'duration' | 'bytes' | 'tags' | 'mono' | 'badge';
export type CellValue = string | number | boolean | string[] | null | undefined;

export interface Column<T> {
  /** Column id; also the API `sort` field when `sortable`. */
  key: string;
  label: string;
  value: (row: T) => CellValue;
  kind?: CellKind;
  sortable?: boolean;
  /** This column's text links to the detail page (default: the first plain-text column). */
  link?: boolean;
  /** CSS width, e.g. '10rem'. */
  width?: string;
  align?: 'right';
}

/** The list filters of the API (query parameters); the URL of a list view carries the same names. */
export type FilterKey =
  | 'q' | 'from' | 'to' | 'staff' | 'contact' | 'room' | 'enquiry' | 'channel' | 'direction' | 'result' | 'tag' | 'category' | 'number'
  | 'type' | 'kind' | 'status' | 'department' | 'role';

export interface FilterSpec {
  key: Exclude<FilterKey, 'from' | 'to' | 'q'>;
  label: string;
  options?: readonly string[];
  placeholder?: string;
}

export interface ListDef<K extends RecordType> {
  type: K;
  title: string;
  /** Named route of the detail page (param `id`). */
  detailRoute: string;
  columns: Column<RecordTypes[K]>[];
  /** Free-text search: its label, or null when the list has none. */
  search: string | null;
  /** Label of the main date the from/to range applies to, or null when the list has no date range. */
  dateRange: string | null;
  filters: FilterSpec[];
  /** Sort of the unfiltered list (the API's default), shown as the active header. */
  defaultSort: { key: string; order: 'asc' | 'desc' };
}

/** The URL/API query names a list accepts: its search, date range, filters, sort and order (the API refuses others). */
export function queryKeysOf(def: Pick<ListDef<RecordType>, 'search' | 'dateRange' | 'filters'>): string[] {
  return [...(def.search ? ['q'] : []), ...(def.dateRange ? ['from', 'to'] : []), ...def.filters.map((f) => f.key), 'sort', 'order'];
}

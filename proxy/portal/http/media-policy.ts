/**
 * Which stored types the portal serves inline from its own origin: audio, video and raster images only, types a
 * browser plays or paints but never runs. Everything else (text/html, image/svg+xml, XML, PDF, unknown...) is an
 * attachment typed application/octet-stream, whatever type the vendor's file record claims.
 */
export const INLINE_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'audio/mpeg', 'audio/mp4', 'audio/aac', 'audio/ogg', 'audio/webm', 'audio/flac',
  'video/mp4', 'video/webm', 'video/ogg',
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp',
]);

export interface MediaDelivery {
  /** The Content-Type sent. */
  contentType: string;
  disposition: 'inline' | 'attachment';
}

/** `type/subtype` in lower case, without parameters. */
export function essenceOf(mimeType: string): string {
  return (mimeType.split(';')[0] ?? '').trim().toLowerCase();
}

export function isInlineSafe(mimeType: string): boolean {
  return INLINE_MEDIA_TYPES.has(essenceOf(mimeType));
}

/** How a stored file goes out: inline only when asked for and safe; unsafe types never keep their own type. */
export function mediaDelivery(mimeType: string, download: boolean): MediaDelivery {
  const safe = isInlineSafe(mimeType);
  return { contentType: safe ? essenceOf(mimeType) : 'application/octet-stream', disposition: safe && !download ? 'inline' : 'attachment' };
}

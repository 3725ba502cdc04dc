/** Escapes every regular-expression metacharacter: user text is always matched literally. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A case-insensitive substring match of literal text (works on MongoDB and FerretDB; no operator can come in). */
export function containsText(text: string): { $regex: string; $options: string } {
  return { $regex: escapeRegex(text), $options: 'i' };
}

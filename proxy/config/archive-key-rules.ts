/** The vendor's Archive Key rule: at least 8 characters with upper- and lower-case letters and a digit or symbol. */
export function archiveKeyProblems(key: string): string[] {
  const problems: string[] = [];
  if ([...key].length < 8) problems.push('shorter than 8 characters');
  if (!/\p{Lu}/u.test(key)) problems.push('no upper-case letter');
  if (!/\p{Ll}/u.test(key)) problems.push('no lower-case letter');
  if (!/[\p{N}\p{P}\p{S}]/u.test(key)) problems.push('no digit or symbol');
  return problems;
}

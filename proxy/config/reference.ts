import { configLeaves } from './walk-schema.js';

/** The configuration reference table of docs/configuration.md, generated from the schema. */
export function configReferenceMarkdown(): string {
  const rows = configLeaves().map((l) => {
    const key = l.path.join('.');
    const def = l.default !== undefined ? `\`${JSON.stringify(l.default)}\`` : l.secret ? (l.optional ? '(secret, optional)' : '(secret)') : l.optional ? '(optional)' : '**required**';
    const env = l.secret ? `\`${l.env}\`, \`${l.env}_FILE\`` : `\`${l.env}\``;
    const key2 = l.secret ? `\`${key}\` / \`${key}File\`` : `\`${key}\``;
    return `| ${key2} | ${l.type} | ${def} | ${env} | ${(l.description ?? '').replaceAll('|', '\\|')} |`;
  });
  return ['| key | type | default | environment | meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

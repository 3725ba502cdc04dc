import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ProxyError } from '../errors.js';
import { ConfigSchema, DEFAULT_CONFIG_PATH, ENV_PREFIX, type Config } from './schema.js';
import { sftpServerProblems } from './sftp-server-rules.js';
import { configLeaves, type ConfigLeaf } from './walk-schema.js';

export interface LoadConfigOptions {
  /** Path given with --config; undefined means the default path, which may be absent when env supplies everything. */
  path?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function child(tree: Tree, key: string): Tree {
  const existing = tree[key];
  if (isTree(existing)) return existing;
  const created: Tree = {};
  tree[key] = created;
  return created;
}

function parentOf(root: Tree, path: readonly string[]): Tree {
  let node = root;
  for (const seg of path.slice(0, -1)) node = child(node, seg);
  return node;
}

async function readSource(options: LoadConfigOptions, problems: string[]): Promise<Tree> {
  const path = options.path ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && options.path === undefined) return {};
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ProxyError('CONFIG_NOT_FOUND', path);
    problems.push(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return {};
  }
  try {
    const doc: unknown = parseYaml(text);
    if (doc === null || doc === undefined) return {};
    if (!isTree(doc)) {
      problems.push(`${path}: the top level must be a mapping`);
      return {};
    }
    return doc;
  } catch (err) {
    problems.push(`${path}: YAML syntax error: ${err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err)}`);
    return {};
  }
}

function applyEnv(tree: Tree, leaves: readonly ConfigLeaf[], env: NodeJS.ProcessEnv): void {
  for (const leaf of leaves) {
    const key = leaf.path[leaf.path.length - 1] as string;
    // Environment beats the file; for a secret, *_FILE beats the plain variable.
    const value = env[leaf.env];
    if (value !== undefined && value !== '') {
      const parent = parentOf(tree, leaf.path);
      parent[key] = leaf.type === 'list' ? parseList(value) : value;
      delete parent[`${key}File`];
    }
    if (leaf.secret) {
      const file = env[`${leaf.env}_FILE`];
      if (file !== undefined && file !== '') {
        const parent = parentOf(tree, leaf.path);
        parent[`${key}File`] = file;
        delete parent[key];
      }
    }
  }
}

/** A list in an environment variable is JSON; anything else is kept as text (validation then names the key). */
function parseList(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

async function resolveSecretFiles(tree: Tree, leaves: readonly ConfigLeaf[], env: NodeJS.ProcessEnv, problems: string[]): Promise<void> {
  for (const leaf of leaves.filter((l) => l.secret)) {
    const key = leaf.path[leaf.path.length - 1] as string;
    const parent = parentOf(tree, leaf.path);
    const fileKey = `${key}File`;
    const file = parent[fileKey];
    if (file === undefined) continue;
    delete parent[fileKey];
    const dotted = [...leaf.path.slice(0, -1), fileKey].join('.');
    if (typeof file !== 'string' || file === '') {
      problems.push(`${dotted}: must be a file path`);
      continue;
    }
    if (parent[key] !== undefined) {
      problems.push(`${leaf.path.join('.')}: give either the value or ${fileKey}, not both`);
      continue;
    }
    const credDir = env.CREDENTIALS_DIRECTORY;
    const resolved = !isAbsolute(file) && !file.includes('/') && credDir ? join(credDir, file) : file;
    try {
      // A trailing newline (echo > file) is not part of the secret.
      parent[key] = (await readFile(resolved, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${dotted}: cannot read ${resolved} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}

function describe(err: ErrorObject): string {
  const where = err.instancePath ? err.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
  switch (err.keyword) {
    case 'required':
      return `${where === '(top level)' ? '' : where + '.'}${String(err.params.missingProperty)}: is required`;
    case 'additionalProperties':
      return `${where === '(top level)' ? '' : where + '.'}${String(err.params.additionalProperty)}: is not a known setting`;
    default:
      return `${where}: ${err.message ?? 'is invalid'}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (isTree(value) || Array.isArray(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });
const validate = ajv.compile<Config>(ConfigSchema);

/**
 * Loads the configuration once: YAML file, then RETENTION_PROXY_* environment overrides, then secret files;
 * validates against the one schema and reports every problem in one CONFIG_INVALID error. The result is frozen.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const leaves = configLeaves(ENV_PREFIX);
  const problems: string[] = [];
  const tree = await readSource(options, problems);
  applyEnv(tree, leaves, env);
  await resolveSecretFiles(tree, leaves, env, problems);
  if (!validate(tree)) problems.push(...(validate.errors ?? []).map(describe));
  problems.push(...crossFieldProblems(tree));
  if (problems.length > 0) {
    const unique = [...new Set(problems)];
    throw new ProxyError('CONFIG_INVALID', `${unique.length} problem(s):\n  - ${unique.join('\n  - ')}`, { details: { problems: unique } });
  }
  return deepFreeze(tree as unknown as Config);
}

/** Rules across several keys, which the schema cannot express. */
function crossFieldProblems(tree: unknown): string[] {
  const sftp = isTree(tree) ? tree.sftp : undefined;
  return isTree(sftp) ? sftpServerProblems(sftp) : [];
}

/** Validates an in-memory object (tests, demo) with the same rules. */
export function configFromObject(input: unknown): Config {
  const copy = structuredClone(input);
  const problems = validate(copy) ? [] : (validate.errors ?? []).map(describe);
  problems.push(...crossFieldProblems(copy));
  if (problems.length > 0) {
    throw new ProxyError('CONFIG_INVALID', `${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
  return deepFreeze(copy as Config);
}

/** A copy safe to print: every secret replaced. */
export function redactConfig(config: Config): Tree {
  const copy = structuredClone(config) as unknown as Tree;
  for (const leaf of configLeaves().filter((l) => l.secret)) {
    const parent = parentOf(copy, leaf.path);
    const key = leaf.path[leaf.path.length - 1] as string;
    if (parent[key] !== undefined) parent[key] = '[redacted]';
  }
  return copy;
}

/** Paths for pino's `redact` option: every secret key, wherever it shows up in a log object. */
export function secretLogPaths(): string[] {
  const keys = new Set(configLeaves().filter((l) => l.secret).map((l) => l.path[l.path.length - 1] as string));
  keys.add('password');
  keys.add('authorization');
  return [...keys].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
}

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ZodError } from 'zod';
import { PermanentError } from '../core/errors';
import { configSchema, type PostflowConfig } from './schema';

export class ConfigError extends PermanentError {}

const ENV_PREFIX = 'POSTFLOW_';

/**
 * Builds the configuration: defaults ← file (YAML or JSON) ← environment. The file path comes from
 * the argument or `POSTFLOW_CONFIG`. Throws ConfigError naming the key and what was expected.
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): PostflowConfig {
  const env = options.env ?? {};
  const file = options.file ?? env.POSTFLOW_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) raw = readConfigFile(file);
  raw = deepMerge(raw, environmentOverrides(env));
  if (options.overrides) raw = deepMerge(raw, options.overrides);
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): PostflowConfig {
  try {
    return configSchema.parse(raw);
  } catch (err) {
    if (err instanceof ZodError) {
      const issues = err.issues.map((issue) => {
        const key = issue.path.join('.') || '(root)';
        return `${key}: ${issue.message}`;
      });
      throw new ConfigError(`Invalid configuration: ${issues.join('; ')}`);
    }
    throw err;
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read configuration file ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = YAML.parse(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a mapping');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`Cannot parse configuration file ${file}: ${(err as Error).message}`);
  }
}

/** `POSTFLOW_SMTP_MAX_MESSAGE_SIZE=1000` → `{ smtp: { maxMessageSize: '1000' } }`, guided by the schema's keys. */
function environmentOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const shape = configSchema.shape as Record<string, unknown>;
  for (const [topKey, topSchema] of Object.entries(shape)) {
    const section = sectionKeys(topSchema);
    if (section) {
      for (const key of section) {
        const value = env[ENV_PREFIX + envName(topKey) + '_' + envName(key)];
        if (value !== undefined) ((result[topKey] ??= {}) as Record<string, unknown>)[key] = value;
      }
    } else {
      const value = env[ENV_PREFIX + envName(topKey)];
      if (value !== undefined) result[topKey] = value;
    }
  }
  return result;
}

function sectionKeys(schema: unknown): string[] | null {
  let current = schema as { _def?: { innerType?: unknown; schema?: unknown }; shape?: Record<string, unknown> };
  // Unwrap ZodDefault / ZodEffects to reach a ZodObject.
  for (let i = 0; i < 5 && current && !current.shape; i++) {
    current = (current._def?.innerType ?? current._def?.schema) as typeof current;
  }
  return current?.shape ? Object.keys(current.shape) : null;
}

function envName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

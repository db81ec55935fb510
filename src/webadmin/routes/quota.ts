import type { FastifyInstance } from 'fastify';
import { parseDomain, parseUsername } from '../../core/address';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { UNLIMITED, QUOTA_RESOURCES, isValidLimit, type QuotaLimits, type QuotaResource, type QuotaScope } from '../../quota/api/quota';
import { occupationOf, type QuotaService } from '../../quota/quota-service';
import { errorBody } from '../errors';

/** Users listed at most by one `GET /quota/users` (James pages with `limit`/`offset`). */
export const MAX_QUOTA_USERS_LISTED = 1_000;

export interface QuotaRoutesDeps {
  quota: QuotaService;
  userExists(user: string): Promise<boolean>;
  domainExists(domain: string): Promise<boolean>;
  /** Every user name, sorted. */
  listUsers(): Promise<string[]>;
  /** Starts the `recompute-current-quotas` task; resolves with its task id. Absent: no task routes. */
  startRecompute?(options: { usersPerSecond: number | null }): Promise<string>;
}

const INVALID_QUOTA = 'Quota should be positive or unlimited (-1)';

/**
 * James' quota routes (`/quota`, `/quota/count|size`, `/quota/domains/{d}[/count|/size]`,
 * `/quota/users/{u}[/count|/size]`, `GET /quota/users`, `POST /quota/users?task=RecomputeCurrentQuotas`).
 * A limit is a non-negative integer or -1 (unlimited); GET of an undefined limit answers 204;
 * in the JSON objects an undefined limit is left out.
 */
export function quotaRoutes(deps: QuotaRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // James takes the bare number as the body, whatever the content type curl sends.
    app.addContentTypeParser(['text/plain', 'application/x-www-form-urlencoded'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

    const { store } = deps.quota;

    async function user(raw: string): Promise<string> {
      let name: string;
      try {
        name = parseUsername(raw);
      } catch {
        throw new InvalidInputError(`Invalid user name: ${raw}`);
      }
      if (!(await deps.userExists(name))) throw new NotFoundError('User not found');
      return name;
    }

    async function domain(raw: string): Promise<string> {
      let name: string;
      try {
        name = parseDomain(raw);
      } catch {
        throw new InvalidInputError(`Invalid domain: ${raw}`);
      }
      if (!(await deps.domainExists(name))) throw new NotFoundError('Domain not found');
      return name;
    }

    /** GET/PUT/DELETE of one resource and of both at once, for one scope. */
    function scopeRoutes(base: string, scope: QuotaScope, resolve: (params: Record<string, string>) => Promise<string>, details: (key: string) => Promise<unknown>) {
      app.get<{ Params: Record<string, string> }>(base, async (request) => details(await resolve(request.params)));
      app.put<{ Params: Record<string, string>; Body: unknown }>(base, async (request, reply) => {
        const key = await resolve(request.params);
        const limits = parseQuotaObject(request.body);
        for (const resource of QUOTA_RESOURCES) await store.setLimit(scope, key, resource, limits[resource] ?? null);
        return reply.status(204).send();
      });
      for (const resource of QUOTA_RESOURCES) {
        app.get<{ Params: Record<string, string> }>(`${base}/${resource}`, async (request, reply) => {
          const value = (await store.getLimits(scope, await resolve(request.params)))[resource];
          return value === undefined ? reply.status(204).send() : reply.type('application/json').send(JSON.stringify(value));
        });
        app.put<{ Params: Record<string, string>; Body: unknown }>(`${base}/${resource}`, async (request, reply) => {
          const key = await resolve(request.params);
          await store.setLimit(scope, key, resource, parseLimit(request.body));
          return reply.status(204).send();
        });
        app.delete<{ Params: Record<string, string> }>(`${base}/${resource}`, async (request, reply) => {
          await store.setLimit(scope, await resolve(request.params), resource, null);
          return reply.status(204).send();
        });
      }
    }

    scopeRoutes('/quota', 'global', async () => '', async () => limitsJson(await store.getLimits('global', '')));
    scopeRoutes('/quota/domains/:domain', 'domain', (p) => domain(p.domain), async (d) => {
      const { global, domain: limits, computed } = await deps.quota.domainDetails(d);
      return withDefined({ global, domain: limits, computed });
    });
    scopeRoutes('/quota/users/:user', 'user', (p) => user(p.user), async (u) => userDetails(deps.quota, u));

    app.get<{ Querystring: Record<string, string | undefined> }>('/quota/users', async (request) => {
      const q = request.query;
      const min = ratioParam(q.minOccupationRatio, 'minOccupationRatio');
      const max = ratioParam(q.maxOccupationRatio, 'maxOccupationRatio');
      const limit = intParam(q.limit, 'limit', 1, MAX_QUOTA_USERS_LISTED) ?? MAX_QUOTA_USERS_LISTED;
      const offset = intParam(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
      const wantedDomain = q.domain === undefined ? undefined : await domain(q.domain);
      const out: Array<{ username: string; detail: unknown }> = [];
      let skipped = 0;
      for (const name of await deps.listUsers()) {
        if (wantedDomain !== undefined && !name.endsWith(`@${wantedDomain}`)) continue;
        const detail = await userDetails(deps.quota, name);
        const ratio = detail.occupation.ratio.max;
        if ((min !== undefined && ratio < min) || (max !== undefined && ratio > max)) continue;
        if (skipped++ < offset) continue;
        out.push({ username: name, detail });
        if (out.length >= limit) break;
      }
      return out;
    });

    app.post<{ Querystring: Record<string, string | string[] | undefined> }>('/quota/users', async (request, reply) => {
      const { task, usersPerSecond, quotaComponent } = request.query;
      if (task === undefined) return reply.status(400).send(errorBody(400, 'InvalidArgument', "'task' query parameter is compulsory. Supported values are [RecomputeCurrentQuotas]"));
      if (task !== 'RecomputeCurrentQuotas' || !deps.startRecompute) {
        return reply.status(400).send(errorBody(400, 'InvalidArgument', `Invalid value supplied for query parameter 'task': ${String(task)}. Supported values are [RecomputeCurrentQuotas]`));
      }
      const components = quotaComponent === undefined ? [] : Array.isArray(quotaComponent) ? quotaComponent : [quotaComponent];
      const unknown = components.find((c) => c !== 'MAILBOX');
      if (unknown !== undefined) {
        return reply.status(400).send(errorBody(400, 'InvalidArgument', `Illegal value supplied for query parameter 'quotaComponent' with value '${unknown}', expecting existing quota components`));
      }
      const pace = intParam(typeof usersPerSecond === 'string' ? usersPerSecond : undefined, 'usersPerSecond', 1, 1_000_000);
      if (Array.isArray(usersPerSecond)) throw new InvalidInputError("Illegal value supplied for query parameter 'usersPerSecond', expecting a strictly positive optional integer");
      const taskId = await deps.startRecompute({ usersPerSecond: pace ?? null });
      return reply.status(201).send({ taskId });
    });
  };
}

async function userDetails(quota: QuotaService, user: string) {
  const { global, domain, user: limits, computed, usage } = await quota.details(user);
  return { ...withDefined({ global, domain, user: limits, computed }), occupation: occupationOf(computed, usage) };
}

function limitsJson(limits: QuotaLimits): QuotaLimits {
  const out: QuotaLimits = {};
  for (const r of QUOTA_RESOURCES) if (limits[r] !== undefined) out[r] = limits[r];
  return out;
}

/** Leaves out the scopes where nothing is defined (James' NON_ABSENT serialization). */
function withDefined(scopes: Record<string, QuotaLimits>): Record<string, QuotaLimits> {
  const out: Record<string, QuotaLimits> = {};
  for (const [name, limits] of Object.entries(scopes)) if (Object.keys(limitsJson(limits)).length > 0) out[name] = limitsJson(limits);
  return out;
}

/** A limit body: a JSON number or a bare number in text; -1 is unlimited. */
export function parseLimit(body: unknown): number {
  const value = typeof body === 'string' && /^\s*-?\d{1,16}\s*$/.test(body) ? Number(body) : body;
  if (!isValidLimit(value)) throw new InvalidInputError(INVALID_QUOTA);
  return value;
}

/** `{"count": n|null, "size": n|null}`: null or absent removes that limit. */
export function parseQuotaObject(body: unknown): QuotaLimits {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new InvalidInputError('Invalid JSON: {"count": …, "size": …} was expected');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidInputError('Invalid JSON: {"count": …, "size": …} was expected');
  const out: QuotaLimits = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!QUOTA_RESOURCES.includes(key as QuotaResource)) throw new InvalidInputError(`Unknown quota field ${JSON.stringify(key)} (count, size)`);
    if (value === null) continue;
    if (!isValidLimit(value)) throw new InvalidInputError(INVALID_QUOTA);
    out[key as QuotaResource] = value === UNLIMITED ? UNLIMITED : value;
  }
  return out;
}

function ratioParam(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new InvalidInputError(`Invalid '${name}': a positive number was expected`);
  return value;
}

function intParam(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new InvalidInputError(`Invalid '${name}': an integer from ${min} to ${max} was expected`);
  return value;
}

import type { FastifyInstance } from 'fastify';
import type { HealthCheck } from '../../storage/backends';

/** James' `/healthcheck`: 200 when every component is healthy, 503 otherwise. */
export function healthRoutes(deps: { checks: () => Promise<HealthCheck[]> }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/healthcheck', async (_request, reply) => {
      const checks = await deps.checks();
      const status = checks.some((c) => c.status === 'unhealthy') ? 'unhealthy' : checks.some((c) => c.status === 'degraded') ? 'degraded' : 'healthy';
      return reply.status(status === 'healthy' ? 200 : 503).send({
        status,
        checks: checks.map((c) => ({ componentName: c.componentName, escapedComponentName: encodeURIComponent(c.componentName), status: c.status, cause: c.cause })),
      });
    });
  };
}

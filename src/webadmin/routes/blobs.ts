import type { FastifyInstance } from 'fastify';
import type { BlobGcRequest } from '../../blob/gc/start-blob-gc';
import { errorBody } from '../errors';

/** `expectedBlobCount` above this would size a Bloom filter beyond what one worker should hold (~1 GiB). */
export const MAX_EXPECTED_BLOB_COUNT = 500_000_000;

export interface BlobRoutesDeps {
  /** Starts a blob garbage collection; resolves with its task id (the workflow id). */
  startBlobGc: (request: BlobGcRequest) => Promise<string>;
}

/**
 * James' `DELETE /blobs?scope=unreferenced[&expectedBlobCount=…][&associatedProbability=…]`: starts
 * the blob garbage collection and answers `201 {"taskId": …}`. The task id is the workflow id
 * (`blob-gc-<uuid>`), to be opened in the Temporal UI until `/tasks` maps it. Postflow also takes
 * `dryRun=true` (count, delete nothing).
 */
export function blobRoutes(deps: BlobRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.delete<{ Querystring: Record<string, string | undefined> }>('/blobs', async (request, reply) => {
      const { scope, expectedBlobCount, associatedProbability, dryRun } = request.query;
      if (scope !== 'unreferenced') {
        return reply.status(400).send(errorBody(400, 'InvalidArgument', "Invalid 'scope' parameter: the supported scope is 'unreferenced'", scope === undefined ? 'scope is missing' : `scope=${scope}`));
      }
      const gc: BlobGcRequest = {};
      if (expectedBlobCount !== undefined) {
        const value = Number(expectedBlobCount);
        if (!Number.isInteger(value) || value < 1 || value > MAX_EXPECTED_BLOB_COUNT) {
          return reply.status(400).send(errorBody(400, 'InvalidArgument', `Invalid 'expectedBlobCount': a positive integer up to ${MAX_EXPECTED_BLOB_COUNT} was expected`, expectedBlobCount));
        }
        gc.expectedBlobCount = value;
      }
      if (associatedProbability !== undefined) {
        const value = Number(associatedProbability);
        if (!(value > 0 && value < 1)) {
          return reply.status(400).send(errorBody(400, 'InvalidArgument', "Invalid 'associatedProbability': a number between 0 and 1 (exclusive) was expected", associatedProbability));
        }
        gc.associatedProbability = value;
      }
      if (dryRun !== undefined) {
        if (dryRun !== 'true' && dryRun !== 'false') {
          return reply.status(400).send(errorBody(400, 'InvalidArgument', "Invalid 'dryRun': true or false was expected", dryRun));
        }
        gc.dryRun = dryRun === 'true';
      }
      const taskId = await deps.startBlobGc(gc);
      return reply.status(201).send({ taskId });
    });
  };
}

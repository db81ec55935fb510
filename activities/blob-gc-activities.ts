import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { BlobInfo, BlobReferenceSource, BlobStore } from '../src/blob/api';
import { BloomFilter } from '../src/blob/gc/bloom-filter';
import { errorMessage } from '../src/core/errors';
import { withFailureMapping } from './errors';

/** Bucket of the collector's own scratch data (the serialized reference filter of a run). */
export const GC_SCRATCH_BUCKET = 'gc-scratch';
/** A scratch filter older than this belongs to a run that died without cleaning up. */
const SCRATCH_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Full passes over every reference source: a reference that moves once while scanned is still seen (docs/blob-gc.md). */
export const REFERENCE_SCAN_ROUNDS = 2;
/** Blobs one sweep activity looks at before returning a cursor (bounds its duration and retry cost). */
export const SWEEP_BLOBS_PER_ACTIVITY = 5_000;
/** Deletions in flight at once within a sweep. */
const DELETE_CONCURRENCY = 16;

export interface BlobGcDeps {
  blobs: BlobStore;
  /** Every place references live; at least one `stored` source is required. */
  references: readonly BlobReferenceSource[];
  logger?: Logger;
}

export interface BuildReferenceFilterInput {
  expectedBlobCount: number;
  associatedProbability: number;
}

export interface ReferenceFilterResult {
  filterBlobId: string;
  /** Ids added (with repetitions, over every round). */
  references: number;
  bySource: Record<string, number>;
  estimatedFalsePositiveRate: number;
}

export interface SweepInput {
  bucket: string;
  /** Cursor: the last blob id the previous sweep looked at; null to start the bucket. */
  after: string | null;
  filterBlobId: string;
  /** ISO time: blobs written at or after it are never deleted. */
  cutoff: string;
  dryRun: boolean;
}

export interface SweepResult {
  /** Where the next sweep starts; null when the bucket is done. */
  next: string | null;
  listed: number;
  /** Written after the cut-off (the grace period). */
  young: number;
  /** In the reference filter (referenced, or a false positive). */
  referenced: number;
  deleted: number;
  deletedBytes: number;
  /** Candidates a put refreshed between the listing and the delete: kept. */
  refreshed: number;
}

/**
 * Activities of the collectGarbageBlobs workflow: build the reference filter from every source,
 * then sweep the buckets page by page, deleting old blobs absent from the filter.
 */
export function createBlobGcActivities(deps: BlobGcDeps) {
  const { blobs } = deps;
  const filters = new Map<string, Promise<BloomFilter>>();

  const loadFilter = (filterBlobId: string): Promise<BloomFilter> => {
    let filter = filters.get(filterBlobId);
    if (!filter) {
      filter = blobs.readBytes(GC_SCRATCH_BUCKET, filterBlobId).then((bytes) => BloomFilter.deserialize(bytes));
      filter.catch(() => filters.delete(filterBlobId));
      // One run at a time is the norm: keep the latest filter only.
      filters.clear();
      filters.set(filterBlobId, filter);
    }
    return filter;
  };

  return {
    /**
     * Scans every source (in-flight, stored, in-flight, stored, in-flight: a mail whose reference
     * moves from a workflow into a store, or back, during the scan is seen on one side) into one
     * Bloom filter, stored in the scratch bucket. Heartbeats its progress; cancellable.
     */
    async buildReferenceFilter(input: BuildReferenceFilterInput): Promise<ReferenceFilterResult> {
      const stored = deps.references.filter((s) => s.kind === 'stored');
      const inFlight = deps.references.filter((s) => s.kind === 'in-flight');
      if (stored.length === 0) {
        throw ApplicationFailure.nonRetryable('No stored blob reference source is configured: refusing to collect garbage', 'NoReferenceSource');
      }
      return withFailureMapping(async () => {
        const context = Context.current();
        await purgeStaleScratch(blobs);
        const filter = BloomFilter.create(input.expectedBlobCount, input.associatedProbability);
        const bySource: Record<string, number> = {};
        const order: BlobReferenceSource[] = [];
        for (let round = 0; round < REFERENCE_SCAN_ROUNDS; round++) order.push(...inFlight, ...stored);
        order.push(...inFlight);
        for (const [step, source] of order.entries()) {
          for await (const batch of source.references(context.cancellationSignal)) {
            for (const id of batch) filter.add(id);
            bySource[source.name] = (bySource[source.name] ?? 0) + batch.length;
            context.heartbeat({ step, of: order.length, source: source.name, references: filter.count });
          }
          context.cancellationSignal.throwIfAborted();
        }
        const { blobId } = await blobs.put(GC_SCRATCH_BUCKET, filter.serialize());
        deps.logger?.info({ references: filter.count, bySource, filterBlobId: blobId }, 'blob references scanned');
        return { filterBlobId: blobId, references: filter.count, bySource, estimatedFalsePositiveRate: filter.estimatedFalsePositiveRate };
      });
    },

    /** Looks at up to SWEEP_BLOBS_PER_ACTIVITY blobs after the cursor; deletes those older than the cut-off and absent from the filter. */
    async sweepBlobs(input: SweepInput): Promise<SweepResult> {
      return withFailureMapping(async () => {
        const context = Context.current();
        const filter = await loadFilter(input.filterBlobId);
        const cutoff = new Date(input.cutoff);
        if (Number.isNaN(cutoff.getTime())) throw ApplicationFailure.nonRetryable(`Invalid cutoff ${input.cutoff}`);
        const result: SweepResult = { next: null, listed: 0, young: 0, referenced: 0, deleted: 0, deletedBytes: 0, refreshed: 0 };
        const candidates: BlobInfo[] = [];
        let last: string | null = null;
        for await (const page of blobs.list(input.bucket, { after: input.after ?? undefined })) {
          for (const info of page) {
            result.listed++;
            last = info.blobId;
            if (info.lastModified >= cutoff) result.young++;
            else if (filter.mightContain(info.blobId)) result.referenced++;
            else candidates.push(info);
          }
          context.heartbeat({ bucket: input.bucket, at: last });
          context.cancellationSignal.throwIfAborted();
          if (result.listed >= SWEEP_BLOBS_PER_ACTIVITY) {
            result.next = last;
            break;
          }
        }
        if (input.dryRun) {
          result.deleted = candidates.length;
          result.deletedBytes = candidates.reduce((sum, c) => sum + c.size, 0);
          return result;
        }
        for (let i = 0; i < candidates.length; i += DELETE_CONCURRENCY) {
          context.cancellationSignal.throwIfAborted();
          const batch = candidates.slice(i, i + DELETE_CONCURRENCY);
          const deleted = await Promise.all(batch.map((c) => blobs.deleteIfUnmodifiedSince(input.bucket, c.blobId, cutoff)));
          batch.forEach((c, j) => {
            if (deleted[j]) {
              result.deleted++;
              result.deletedBytes += c.size;
            } else result.refreshed++;
          });
          context.heartbeat({ bucket: input.bucket, at: last, deleted: result.deleted });
        }
        if (result.deleted > 0) deps.logger?.info({ bucket: input.bucket, deleted: result.deleted, bytes: result.deletedBytes }, 'unreferenced blobs deleted');
        return result;
      });
    },

    /** Removes the run's filter from the scratch bucket. */
    async discardReferenceFilter(filterBlobId: string): Promise<void> {
      filters.delete(filterBlobId);
      try {
        await blobs.delete(GC_SCRATCH_BUCKET, filterBlobId);
      } catch (err) {
        deps.logger?.warn({ err: errorMessage(err), filterBlobId }, 'cannot delete the reference filter of a garbage collection');
        throw err;
      }
    },
  };
}

export type BlobGcActivities = ReturnType<typeof createBlobGcActivities>;

async function purgeStaleScratch(blobs: BlobStore): Promise<void> {
  const before = new Date(Date.now() - SCRATCH_MAX_AGE_MS);
  for await (const page of blobs.list(GC_SCRATCH_BUCKET)) {
    for (const info of page) if (info.lastModified < before) await blobs.deleteIfUnmodifiedSince(GC_SCRATCH_BUCKET, info.blobId, before);
  }
}

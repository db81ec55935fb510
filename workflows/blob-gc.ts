import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BlobGcActivities } from '../activities/blob-gc-activities';
import { DURABLE_STEP, LONG_SCAN, SWEEP_PAGE } from './lib/activity-options';

const scan = proxyActivities<BlobGcActivities>(LONG_SCAN);
const sweep = proxyActivities<BlobGcActivities>(SWEEP_PAGE);
const durable = proxyActivities<BlobGcActivities>(DURABLE_STEP);

/**
 * Blobs written less than this long ago are never collected. It must exceed the longest time a blob
 * can be referenced only from memory or from a workflow's state (a mail retried for remote
 * delivery: days), and by far any clock skew between nodes and the blob store.
 */
export const DEFAULT_GRACE_PERIOD_MS = 7 * 24 * 3600 * 1000;
/** James' defaults for `DELETE /blobs?scope=unreferenced`. */
export const DEFAULT_EXPECTED_BLOB_COUNT = 1_000_000;
export const DEFAULT_ASSOCIATED_PROBABILITY = 0.01;
/** Buckets collected by default: the one whose references the metadata stores hold. */
export const DEFAULT_GC_BUCKETS: readonly string[] = ['mail'];
/** Continue as new past this many history events (Temporal suggests it too, from ~10k on). */
const MAX_HISTORY_EVENTS = 5_000;

export interface CollectGarbageBlobsInput {
  buckets?: string[];
  gracePeriodMs?: number;
  expectedBlobCount?: number;
  associatedProbability?: number;
  /** Count what would be deleted, delete nothing. */
  dryRun?: boolean;
  /** Set by the workflow itself when it continues as new. */
  resume?: BlobGcProgress;
}

export interface BlobGcProgress {
  phase: 'scanning-references' | 'sweeping' | 'cleaning-up' | 'completed' | 'cancelled' | 'failed';
  /** ISO times: when the run started, and the cut-off (start − grace period). */
  startedAt: string;
  cutoff: string;
  dryRun: boolean;
  expectedBlobCount: number;
  associatedProbability: number;
  buckets: string[];
  bucketIndex: number;
  /** Sweep cursor in the current bucket. */
  after: string | null;
  filterBlobId: string | null;
  /** Reference ids scanned into the filter (with repetitions). */
  references: number;
  referencesBySource: Record<string, number>;
  estimatedFalsePositiveRate: number | null;
  listed: number;
  young: number;
  referenced: number;
  /** Deleted (or, in a dry run, that would be). */
  deleted: number;
  deletedBytes: number;
  refreshed: number;
  /** Runs of this workflow id so far (continue-as-new). */
  runs: number;
}

/** The run's progress, also its result. */
export const blobGcProgressQuery = defineQuery<BlobGcProgress>('progress');

/**
 * Blob garbage collection (WebAdmin `DELETE /blobs?scope=unreferenced`): builds a Bloom filter of
 * every referenced blob id, then deletes the blobs that are older than the grace period and absent
 * from the filter, bucket by bucket, page by page. Cancellable at any point; a cancelled or failed
 * run removes its scratch filter. Design and safety argument: docs/blob-gc.md.
 */
export async function collectGarbageBlobs(input: CollectGarbageBlobsInput = {}): Promise<BlobGcProgress> {
  const progress = input.resume ? { ...input.resume, runs: input.resume.runs + 1 } : start(input);
  setHandler(blobGcProgressQuery, () => progress);
  try {
    if (!progress.filterBlobId) {
      progress.phase = 'scanning-references';
      const filter = await scan.buildReferenceFilter({ expectedBlobCount: progress.expectedBlobCount, associatedProbability: progress.associatedProbability });
      progress.filterBlobId = filter.filterBlobId;
      progress.references = filter.references;
      progress.referencesBySource = filter.bySource;
      progress.estimatedFalsePositiveRate = filter.estimatedFalsePositiveRate;
    }
    progress.phase = 'sweeping';
    while (progress.bucketIndex < progress.buckets.length) {
      const page = await sweep.sweepBlobs({
        bucket: progress.buckets[progress.bucketIndex],
        after: progress.after,
        filterBlobId: progress.filterBlobId,
        cutoff: progress.cutoff,
        dryRun: progress.dryRun,
      });
      progress.listed += page.listed;
      progress.young += page.young;
      progress.referenced += page.referenced;
      progress.deleted += page.deleted;
      progress.deletedBytes += page.deletedBytes;
      progress.refreshed += page.refreshed;
      progress.after = page.next;
      if (page.next === null) progress.bucketIndex++;
      if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS) {
        await continueAsNew<typeof collectGarbageBlobs>({ resume: progress });
      }
    }
    progress.phase = 'cleaning-up';
    await durable.discardReferenceFilter(progress.filterBlobId);
    progress.phase = 'completed';
    return progress;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cancelled = isCancellation(err);
    const filterBlobId = progress.filterBlobId;
    if (filterBlobId) {
      await CancellationScope.nonCancellable(() => durable.discardReferenceFilter(filterBlobId)).catch(() => undefined);
    }
    progress.phase = cancelled ? 'cancelled' : 'failed';
    throw err;
  }
}

function start(input: CollectGarbageBlobsInput): BlobGcProgress {
  const gracePeriodMs = input.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
  const expectedBlobCount = input.expectedBlobCount ?? DEFAULT_EXPECTED_BLOB_COUNT;
  const associatedProbability = input.associatedProbability ?? DEFAULT_ASSOCIATED_PROBABILITY;
  const buckets = input.buckets ?? [...DEFAULT_GC_BUCKETS];
  if (!Number.isFinite(gracePeriodMs) || gracePeriodMs < 0) throw ApplicationFailure.nonRetryable(`gracePeriodMs must be a non-negative number, got ${gracePeriodMs}`, 'InvalidInput');
  if (!Number.isInteger(expectedBlobCount) || expectedBlobCount < 1) {
    throw ApplicationFailure.nonRetryable(`expectedBlobCount must be a positive integer, got ${expectedBlobCount}`, 'InvalidInput');
  }
  if (!(associatedProbability > 0 && associatedProbability < 1)) {
    throw ApplicationFailure.nonRetryable(`associatedProbability must be between 0 and 1 (exclusive), got ${associatedProbability}`, 'InvalidInput');
  }
  if (buckets.length === 0 || buckets.some((b) => !/^[a-z0-9-]{1,40}$/.test(b) || b === 'gc-scratch')) {
    throw ApplicationFailure.nonRetryable(`buckets must be bucket names other than gc-scratch, got ${JSON.stringify(buckets)}`, 'InvalidInput');
  }
  // Workflow time: the time of the workflow task, identical on replay.
  const now = Date.now();
  return {
    phase: 'scanning-references',
    startedAt: new Date(now).toISOString(),
    cutoff: new Date(now - gracePeriodMs).toISOString(),
    dryRun: input.dryRun ?? false,
    expectedBlobCount,
    associatedProbability,
    buckets,
    bucketIndex: 0,
    after: null,
    filterBlobId: null,
    references: 0,
    referencesBySource: {},
    estimatedFalsePositiveRate: null,
    listed: 0,
    young: 0,
    referenced: 0,
    deleted: 0,
    deletedBytes: 0,
    refreshed: 0,
    runs: 1,
  };
}

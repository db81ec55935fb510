/**
 * Where blob ids are referenced from: what garbage collection must keep. One source per place
 * that holds references (the metadata store of a profile, the mails in flight in Temporal).
 */
export interface BlobReferenceSource {
  /** Shown in progress and logs. */
  readonly name: string;
  /**
   * `stored`: a metadata store (messages, mail repositories…); `in-flight`: references held by running
   * workflows only. Garbage collection scans in-flight sources before and after the stored ones.
   */
  readonly kind: 'stored' | 'in-flight';
  /**
   * Every id referenced during the iteration, in batches. Ids may repeat and may be strings that
   * are not blob ids. Rejects (never ends early) when a part of the source cannot be read, so a
   * collection never runs on an incomplete picture.
   */
  references(signal?: AbortSignal): AsyncIterable<string[]>;
}

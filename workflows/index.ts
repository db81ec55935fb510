export { processMail, traceQuery } from './process-mail';
export { deliverRemotely, flushSignal, deliveryStatusQuery } from './deliver-remotely';
export { reprocessMailRepository, clearMailRepository, deleteQueuedMails, progressQuery } from './tasks';
export { collectGarbageBlobs, blobGcProgressQuery } from './blob-gc';

export { processMail, traceQuery } from './process-mail';
export { deliverRemotely, flushSignal, deliveryStatusQuery } from './deliver-remotely';
export { reprocessMailRepository, clearMailRepository, deleteQueuedMails, progressQuery } from './tasks';
export { collectGarbageBlobs, blobGcProgressQuery } from './blob-gc';
export { redeliverEventDeadLetters } from './event-tasks';
export { changeUsername, deleteUserData } from './user-tasks';
export { recomputeCurrentQuotas } from './quota-tasks';
export { reindexMailboxes } from './reindex';

export * from './parsed-message';
export { MimeParser, parseMessage, MAX_MIME_DEPTH, MAX_MIME_PARTS, MAX_SEARCH_TEXT_BYTES, MAX_STORED_HEADER_BYTES, PREVIEW_LENGTH } from './mime-parser';
export { baseSubject } from './subject';

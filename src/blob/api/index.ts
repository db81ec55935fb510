export * from './blob-store';
export * from './errors';
export * from "./names";

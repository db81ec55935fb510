export * from './blob-store';
export * from './blob-references';
export * from './errors';
export * from './names';

import { ImapBadError, ImapNoError } from '../errors';
import { ok } from '../response';
import type { ImapCommand } from '../types';
import { atomArg, expectArgs } from './args';

/** RFC 4978 COMPRESS=DEFLATE: after the tagged OK, both directions are raw DEFLATE streams. */
export const compress: ImapCommand = {
  name: 'COMPRESS',
  states: ['authenticated', 'selected'],
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'COMPRESS DEFLATE');
    const mechanism = atomArg(args[0], 'compression mechanism').toUpperCase();
    if (mechanism !== 'DEFLATE') throw new ImapBadError(`Unknown compression mechanism ${mechanism.slice(0, 20)}`);
    if (session.compressed) throw new ImapNoError('Compression is already active', 'COMPRESSIONACTIVE');
    session.startCompression();
    return ok('DEFLATE active');
  },
};

import { ImapBadError } from '../errors';
import { MAX_ID_PAIRS } from '../limits';
import { formatString, ok } from '../response';
import { ANY_STATE, type ImapCommand } from '../types';
import { expectArgs } from './args';

/** What the server tells about itself (RFC 2971); no version, so probes learn little. */
const SERVER_ID: Record<string, string> = { name: 'Postflow', vendor: 'Postflow' };

/** RFC 2971 §3.3 limits: field names at most 30 bytes, values at most 1024 bytes. */
const MAX_ID_FIELD = 30;
const MAX_ID_VALUE = 1024;

/** RFC 2971: the client's identification is logged; the server answers with its own. */
export const id: ImapCommand = {
  name: 'ID',
  states: ANY_STATE,
  async handler({ args, session }) {
    expectArgs(args, 1, 1, 'ID (<field> <value> ...) | ID NIL');
    const arg = args[0];
    if (arg.type === 'list') {
      const items = arg.items;
      if (items.length % 2 !== 0 || items.length / 2 > MAX_ID_PAIRS) throw new ImapBadError(`ID takes at most ${MAX_ID_PAIRS} field/value pairs`);
      const client: Record<string, string | null> = {};
      for (let i = 0; i < items.length; i += 2) {
        const field = items[i];
        const value = items[i + 1];
        if (field.type !== 'quoted' && field.type !== 'literal') throw new ImapBadError('ID field names are strings');
        if (value.type !== 'quoted' && value.type !== 'literal' && value.type !== 'nil') throw new ImapBadError('ID values are strings or NIL');
        const name = field.type === 'quoted' ? field.value : field.value.toString('utf8');
        const text = value.type === 'nil' ? null : value.type === 'quoted' ? value.value : value.value.toString('utf8');
        if (Buffer.byteLength(name) > MAX_ID_FIELD || (text !== null && Buffer.byteLength(text) > MAX_ID_VALUE)) throw new ImapBadError('ID field or value too long');
        client[name.toLowerCase()] = text;
      }
      session.log.info({ clientId: client }, 'IMAP client ID');
    } else if (arg.type !== 'nil') {
      throw new ImapBadError('Usage: ID (<field> <value> ...) | ID NIL');
    }
    const pairs = Object.entries(SERVER_ID).map(([k, v]) => `${formatString(k)} ${formatString(v)}`);
    await session.untagged(`ID (${pairs.join(' ')})`);
    return ok('ID completed');
  },
};

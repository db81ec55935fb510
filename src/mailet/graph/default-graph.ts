import { ADDRESS_ERROR_REPOSITORY, ERROR_REPOSITORY, RELAY_DENIED_REPOSITORY } from '../../mailrepository/api/mail-repository-store';
import type { ProcessorGraph } from './model';

/**
 * The minimal processor graph of the walking skeleton, shaped like James' distributed default:
 * local recipients are delivered, addresses of local domains without a user go to
 * address-error, everything else is relay-denied (authenticated relay arrives with RemoteDelivery).
 */
export const DEFAULT_GRAPH: ProcessorGraph = {
  processors: [
    { name: 'root', steps: [{ matcher: 'All', mailet: 'ToProcessor', params: { processor: 'transport' } }] },
    {
      name: 'transport',
      steps: [
        { matcher: 'RecipientIsLocal', mailet: 'ToProcessor', params: { processor: 'local-delivery' } },
        { matcher: 'HostIsLocal', mailet: 'ToProcessor', params: { processor: 'local-address-error' } },
        { matcher: 'All', mailet: 'ToProcessor', params: { processor: 'relay-denied' } },
      ],
    },
    { name: 'local-delivery', steps: [{ matcher: 'All', mailet: 'LocalDelivery' }] },
    { name: 'local-address-error', steps: [{ matcher: 'All', mailet: 'ToRepository', params: { repositoryPath: ADDRESS_ERROR_REPOSITORY } }] },
    { name: 'relay-denied', steps: [{ matcher: 'All', mailet: 'ToRepository', params: { repositoryPath: RELAY_DENIED_REPOSITORY } }] },
    { name: 'error', steps: [{ matcher: 'All', mailet: 'ToRepository', params: { repositoryPath: ERROR_REPOSITORY } }] },
  ],
};

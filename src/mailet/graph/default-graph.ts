import type { ProcessorGraph } from './model';

/** James' distributed default repositories (`cassandra://var/mail/…` there; the path part here). */
export const ERROR_REPOSITORY_PATH = 'var/mail/error/';
export const ADDRESS_ERROR_REPOSITORY_PATH = 'var/mail/address-error/';
export const RELAY_DENIED_REPOSITORY_PATH = 'var/mail/relay-denied/';
export const RRT_ERROR_REPOSITORY_PATH = 'var/mail/rrt-error/';

/**
 * The processor graph of James' distributed server (its default mailetcontainer.xml), step for
 * step: root (postmaster alias, relay limit), transport (local or relay, relay allowed to
 * authenticated users, authorized networks and mails sent by mailets), local-delivery, relay
 * (RemoteDelivery on the `outgoing` queue), the error processors with their repositories, and
 * bounces (DSN to the sender). Mailets James ships that Postflow has no equivalent for yet (Sieve,
 * JMAP filtering, SentByJmap) are left out.
 */
export const DEFAULT_GRAPH: ProcessorGraph = {
  processors: [
    {
      name: 'root',
      steps: [
        { matcher: 'All', mailet: 'PostmasterAlias' },
        { matcher: 'RelayLimit=30', mailet: 'Null' },
        { matcher: 'All', mailet: 'ToProcessor', params: { processor: 'transport' } },
      ],
    },
    {
      name: 'error',
      steps: [
        { matcher: 'All', mailet: 'MetricsMailet', params: { metricName: 'mailetContainerErrors' } },
        { matcher: 'All', mailet: 'Bounce', onMailetException: 'ignore' },
        { matcher: 'All', mailet: 'ToRepository', params: { repositoryPath: ERROR_REPOSITORY_PATH }, onMailetException: 'propagate' },
      ],
    },
    {
      name: 'transport',
      matchers: [{ name: 'relay-allowed', operator: 'Or', matchers: ['SMTPAuthSuccessful', 'SMTPIsAuthNetwork', 'SentByMailet'] }],
      steps: [
        { matcher: 'All', mailet: 'RemoveMimeHeader', params: { name: 'bcc' }, onMailetException: 'ignore' },
        { matcher: 'All', mailet: 'RecipientRewriteTable', params: { errorProcessor: 'rrt-error' } },
        { matcher: 'RecipientIsLocal', mailet: 'ToProcessor', params: { processor: 'local-delivery' } },
        { matcher: 'HostIsLocal', mailet: 'ToProcessor', params: { processor: 'local-address-error', notice: '550 - Requested action not taken: no such user here' } },
        { matcher: 'relay-allowed', mailet: 'ToProcessor', params: { processor: 'relay' } },
        { matcher: 'All', mailet: 'ToProcessor', params: { processor: 'relay-denied' } },
      ],
    },
    {
      name: 'local-delivery',
      steps: [
        { matcher: 'All', mailet: 'VacationMailet', onMailetException: 'ignore' },
        { matcher: 'All', mailet: 'AddDeliveredToHeader' },
        { matcher: 'All', mailet: 'LocalDelivery' },
      ],
    },
    {
      name: 'relay',
      steps: [{ matcher: 'All', mailet: 'RemoteDelivery', params: { outgoingQueue: 'outgoing', maxDnsProblemRetries: '0', sendpartial: 'true', bounceProcessor: 'bounces' } }],
    },
    {
      // Recipient rewriting failed (typically a loop): kept for an operator, bounced unless the sender loops too.
      name: 'rrt-error',
      steps: [
        { matcher: 'All', mailet: 'ToRepository', params: { repositoryPath: RRT_ERROR_REPOSITORY_PATH, passThrough: 'true' } },
        { matcher: 'IsSenderInRRTLoop', mailet: 'Null' },
        { matcher: 'All', mailet: 'Bounce', onMailetException: 'ignore' },
      ],
    },
    {
      name: 'local-address-error',
      steps: [
        { matcher: 'All', mailet: 'MetricsMailet', params: { metricName: 'localAddressError' } },
        { matcher: 'All', mailet: 'Bounce', params: { attachment: 'none' } },
        { matcher: 'All', mailet: 'ToRepository', params: { repositoryPath: ADDRESS_ERROR_REPOSITORY_PATH } },
      ],
    },
    {
      name: 'relay-denied',
      steps: [
        { matcher: 'All', mailet: 'MetricsMailet', params: { metricName: 'relayDenied' } },
        { matcher: 'All', mailet: 'Bounce', params: { attachment: 'none' } },
        {
          matcher: 'All',
          mailet: 'ToRepository',
          params: {
            repositoryPath: RELAY_DENIED_REPOSITORY_PATH,
            notice: 'Warning: You are sending an e-mail to a remote server. You must be authenticated to perform such an operation',
          },
        },
      ],
    },
    {
      name: 'bounces',
      steps: [
        { matcher: 'All', mailet: 'MetricsMailet', params: { metricName: 'bounces' } },
        { matcher: 'All', mailet: 'DSNBounce', params: { passThrough: 'false' } },
      ],
    },
  ],
};

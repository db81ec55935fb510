import { newRunId } from '../helpers/engines';
import { OpenSearchSearchIndex } from '../../src/search/opensearch/opensearch-search-index';
import { describeSearchIndexContract } from '../contracts/search-index.contract';
import { OPENSEARCH_URL } from './fixture';


describeSearchIndexContract('OpenSearch', async () => {
  const index = await OpenSearchSearchIndex.open({ url: OPENSEARCH_URL, indexPrefix: `postflow-test-${newRunId()}-` });
  return {
    index,
    cleanup: async () => {
      await index.dropIndex();
      await index.close();
    },
  };
});

import type { CompiledGraph, CompiledStep } from '../src/mailet/graph/model';
import type { MailetContext } from '../src/mailet/api';
import type { MailetRegistry } from '../src/mailet/registry';
import type { MailReference } from '../src/core/mail';
import { ERROR_REPOSITORY } from '../src/mailrepository/api/mail-repository-store';
import { mailKey } from '../src/core/mail';
import { withFailureMapping } from './errors';

export interface MailActivityDeps {
  registry: MailetRegistry;
  graph: CompiledGraph;
  context: MailetContext;
}

/** Activities of the processMail workflow, built from injected ports (no module state). */
export function createMailActivities(deps: MailActivityDeps) {
  const { registry, graph, context } = deps;
  return {
    /** The processor graph this worker runs; recorded in the workflow history at the mail's start. */
    async loadProcessorGraph(): Promise<CompiledGraph> {
      return graph;
    },

    async matchRecipients(step: CompiledStep, mail: MailReference): Promise<string[]> {
      return withFailureMapping(async () => {
        const { definition, condition } = registry.matcher(step.matcher);
        return definition.match(mail, context, condition);
      });
    },

    async runMailet(step: CompiledStep, mail: MailReference): Promise<MailReference> {
      return withFailureMapping(() => registry.mailet(step.mailet).service(mail, context, step.params ?? {}));
    },

    /** Last resort when the error processor itself fails: keep the mail for an operator. */
    async storeInErrorRepository(mail: MailReference): Promise<void> {
      await context.mailRepositories.store(ERROR_REPOSITORY, mailKey(mail), mail);
    },
  };
}

export type MailActivities = ReturnType<typeof createMailActivities>;

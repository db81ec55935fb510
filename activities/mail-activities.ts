import { Context } from '@temporalio/activity';
import type { CompiledStep } from '../src/mailet/graph/model';
import type { Position } from '../src/mailet/graph/walker';
import type { MailReference } from '../src/core/mail';
import { mailKey } from '../src/core/mail';
import { ERROR_REPOSITORY } from '../src/mailrepository/api/mail-repository-store';
import type { MailRepositoryStore } from '../src/mailrepository/api/mail-repository-store';
import type { AdvanceResult, MailetRunResult, MailetRuntime } from '../src/mailet/runtime/mailet-runtime';
import { withFailureMapping } from './errors';

export interface MailActivityDeps {
  runtime: MailetRuntime;
  mailRepositories: MailRepositoryStore;
}

/** Activities of the processMail workflow, built from injected ports (no module state). */
export function createMailActivities(deps: MailActivityDeps) {
  const { runtime, mailRepositories } = deps;
  return {
    /** Runs matchers and local mailets in-process until every mail ends or waits for a durable mailet. */
    async advance(positions: Position[], maxAttempts: number): Promise<AdvanceResult> {
      const { attempt, workflowExecution } = Context.current().info;
      return withFailureMapping(() => runtime.advance(positions, { current: attempt, max: maxAttempts }, workflowExecution?.workflowId));
    },

    /** Runs one mailet as its own activity (durable mailets; every mailet in per-step mode). */
    async runMailet(step: CompiledStep, mail: MailReference): Promise<MailetRunResult> {
      return withFailureMapping(() => runtime.runMailet(step, mail, Context.current().info.workflowExecution?.workflowId));
    },

    /** Last resort when no processor can take the mail: keep it for an operator. Idempotent. */
    async storeInErrorRepository(mail: MailReference): Promise<void> {
      await mailRepositories.store(ERROR_REPOSITORY, mailKey(mail), mail);
    },
  };
}

export type MailActivities = ReturnType<typeof createMailActivities>;

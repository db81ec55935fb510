import type { Logger } from 'pino';
import { InvalidInputError, TemporaryError } from '../core/errors';
import { MailboxOperationError, MailboxRoleTakenError } from '../mailbox/api/errors';
import type { MailboxManager } from '../mailbox/api/mailbox-manager';
import { ALL_UIDS, type MailboxInfo } from '../mailbox/api/mailbox-store';
import type { RecipientRewriteTable } from '../rrt/recipient-rewrite-table';
import { QUOTA_RESOURCES, type QuotaStore } from '../quota/api/quota';
import { NO_VACATION, type VacationStore } from '../vacation/api/vacation-store';
import type { DelegationStore } from './api/delegation-store';

/**
 * Steps of James' UsernameChangeTask, in the order they run. The WebAdmin route accepts one of
 * them as `fromStep` (resume a failed rename: the earlier ones are SKIPPED).
 */
export const USERNAME_CHANGE_STEPS = [
  'ForwardUsernameChangeTaskStep',
  'DelegationUsernameChangeTaskStep',
  // Before the mailboxes: the new user gets the old user's limits before the messages arrive.
  'QuotaUsernameChangeTaskStep',
  'MailboxUsernameChangeTaskStep',
  'ACLUsernameChangeTaskStep',
  'VacationUsernameChangeTaskStep',
] as const;
export type UsernameChangeStep = (typeof USERNAME_CHANGE_STEPS)[number];

/** James' step states, as shown in the task's `status`. */
export type StepState = 'WAITING' | 'IN_PROGRESS' | 'DONE' | 'FAILED' | 'ABORTED' | 'SKIPPED';

/** Rights given to the new owner on an old mailbox for the time of the move. */
const MOVE_RIGHTS = 'lrswipkxte';
/** Move-then-delete rounds for an old INBOX that deliveries keep reaching (each round moves what arrived). */
const INBOX_REMOVAL_ATTEMPTS = 5;

export function isUsernameChangeStep(name: string): name is UsernameChangeStep {
  return (USERNAME_CHANGE_STEPS as readonly string[]).includes(name);
}

/**
 * Moves a user's data to another (existing) account, one step at a time. Every step is
 * idempotent: a step retried after a crash finds what it already moved gone from the old user.
 */
export class UsernameChange {
  constructor(
    private readonly deps: {
      rrt: RecipientRewriteTable;
      delegations: DelegationStore;
      mailboxes: MailboxManager;
      /** Absent: the profile keeps no vacations (the step does nothing). */
      vacation?: VacationStore;
      /** Absent: no quotas configured (the step does nothing). */
      quotas?: QuotaStore;
      logger: Logger;
    },
  ) {}

  async run(step: string, oldUser: string, newUser: string): Promise<void> {
    if (oldUser === newUser) throw new InvalidInputError('The old and the new user are the same');
    switch (step) {
      case 'ForwardUsernameChangeTaskStep':
        return this.forwards(oldUser, newUser);
      case 'DelegationUsernameChangeTaskStep':
        return this.delegations(oldUser, newUser);
      case 'MailboxUsernameChangeTaskStep':
        return this.mailboxes(oldUser, newUser);
      case 'ACLUsernameChangeTaskStep':
        return this.acls(oldUser, newUser);
      case 'VacationUsernameChangeTaskStep':
        return this.vacation(oldUser, newUser);
      case 'QuotaUsernameChangeTaskStep':
        return this.quotas(oldUser, newUser);
      default:
        throw new InvalidInputError(`Unknown username change step ${step}`);
    }
  }

  /**
   * The old user's forwards become the new user's; forwards, aliases and groups that target the
   * old address target the new one; a forward old → new keeps mail sent to the old address flowing.
   */
  private async forwards(oldUser: string, newUser: string): Promise<void> {
    const { rrt } = this.deps;
    for (const mapping of (await rrt.getStoredMappings(oldUser)).filter((m) => m.type === 'Forward')) {
      if (mapping.value === newUser) continue;
      await rrt.addForwardMapping(newUser, mapping.value === oldUser ? newUser : mapping.value);
      await rrt.removeMapping(oldUser, 'Forward', mapping.value);
    }
    for (const type of ['Forward', 'Alias', 'Group'] as const) {
      for (const source of await rrt.listSources(type, oldUser)) {
        if (source === oldUser || source === newUser) continue;
        if (type === 'Forward') await rrt.addForwardMapping(source, newUser);
        else if (type === 'Alias') await rrt.addAliasMapping(source, newUser);
        else await rrt.addGroupMapping(source, newUser);
        await rrt.removeMapping(source, type, oldUser);
      }
    }
    const forwards = await rrt.getStoredMappings(oldUser);
    if (!forwards.some((m) => m.type === 'Forward' && m.value === newUser)) await rrt.addForwardMapping(oldUser, newUser);
  }

  /** Who could act as the old user may act as the new one; whom the old user could act as, the new one can. */
  private async delegations(oldUser: string, newUser: string): Promise<void> {
    const { delegations } = this.deps;
    for (const authorized of await delegations.authorizedUsers(oldUser)) {
      if (authorized !== newUser) await delegations.addAuthorizedUser(newUser, authorized);
      await delegations.removeAuthorizedUser(oldUser, authorized);
    }
    for (const base of await delegations.delegatedUsers(oldUser)) {
      if (base !== newUser) await delegations.addAuthorizedUser(base, newUser);
      await delegations.removeAuthorizedUser(base, oldUser);
    }
  }

  /**
   * Every mailbox of the old user moves to the new user under the same name (merged into an
   * existing one of that name), messages, ACL entries and subscriptions included; the old
   * mailboxes are deleted, INBOX last.
   */
  private async mailboxes(oldUser: string, newUser: string): Promise<void> {
    const { mailboxes } = this.deps;
    const owned = (await mailboxes.listMailboxes(oldUser)).sort((a, b) => a.name.length - b.name.length);
    for (const mailbox of owned) {
      const target = (await mailboxes.getMailbox(newUser, mailbox.name)) ?? (await this.createTarget(newUser, mailbox));
      const acl = await mailboxes.getAcl(oldUser, mailbox.name);
      for (const [identifier, rights] of Object.entries(acl)) {
        if (identifier.replace(/^-/, '') === newUser) continue;
        await mailboxes.setRights(newUser, target.name, identifier, rights, 'add');
      }
      if (mailbox.messageCount > 0) {
        await mailboxes.setRights(oldUser, mailbox.name, newUser, MOVE_RIGHTS, 'add');
        await mailboxes.moveMessages(newUser, mailbox.id, [ALL_UIDS], target.id);
      }
    }
    const subscriptions = await mailboxes.listSubscriptions(oldUser);
    for (const name of subscriptions) await mailboxes.subscribe(newUser, name);
    for (const name of subscriptions) await mailboxes.unsubscribe(oldUser, name);
    // Children before parents: a mailbox with children cannot be deleted.
    for (const mailbox of [...owned].reverse()) {
      if (mailbox.name.toUpperCase() === 'INBOX') continue;
      await mailboxes.deleteMailbox(oldUser, mailbox.name);
    }
    await this.removeOldInbox(oldUser, newUser);
    this.deps.logger.info({ oldUser, newUser, mailboxes: owned.length }, 'mailboxes moved to the new user');
  }

  /** The old user's own limits (user scope) become the new user's where the new user has none; the old user's are removed. */
  private async quotas(oldUser: string, newUser: string): Promise<void> {
    const store = this.deps.quotas;
    if (!store) return;
    const old = await store.getLimits('user', oldUser);
    const current = await store.getLimits('user', newUser);
    for (const resource of QUOTA_RESOURCES) {
      const value = old[resource];
      if (value === undefined) continue;
      if (current[resource] === undefined) await store.setLimit('user', newUser, resource, value);
      await store.setLimit('user', oldUser, resource, null);
    }
  }

  /** The old user's vacation notice becomes the new user's, unless the new user has one set. */
  private async vacation(oldUser: string, newUser: string): Promise<void> {
    const store = this.deps.vacation;
    if (!store) return;
    const old = await store.getVacation(oldUser);
    if (!old) return;
    if ((await store.getVacation(newUser)) === null) await store.setVacation(newUser, old);
    await store.setVacation(oldUser, { ...NO_VACATION });
    await store.flushNotifications(oldUser);
    await store.flushNotifications(newUser);
  }

  /**
   * The old INBOX goes too (no stale, empty INBOX is left behind). Mail delivered to it while
   * the step ran (the forward to the new user is set by then, but a delivery may have been in
   * flight) is moved first. deleteInbox refuses, atomically, an INBOX that still holds messages
   * (a delivery landed after the move): the move and the delete are then tried again, up to
   * INBOX_REMOVAL_ATTEMPTS times, before the step fails with the INBOX kept.
   */
  private async removeOldInbox(oldUser: string, newUser: string): Promise<void> {
    const { mailboxes } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const inbox = await mailboxes.getMailbox(oldUser, 'INBOX');
      if (!inbox) return;
      if ((await mailboxes.listUids(inbox.id)).length > 0) {
        const target = (await mailboxes.getMailbox(newUser, 'INBOX')) ?? (await this.createTarget(newUser, inbox));
        await mailboxes.setRights(oldUser, 'INBOX', newUser, MOVE_RIGHTS, 'add');
        await mailboxes.moveMessages(newUser, inbox.id, [ALL_UIDS], target.id);
      }
      try {
        await mailboxes.deleteInbox(oldUser);
        return;
      } catch (err) {
        const raced = (err instanceof MailboxOperationError || err instanceof TemporaryError) && attempt < INBOX_REMOVAL_ATTEMPTS;
        if (!raced) throw err;
        this.deps.logger.info({ oldUser, attempt }, 'a delivery reached the old INBOX while it was removed: moving again');
      }
    }
  }

  /** The old mailbox under its name; without its role when the new user gave that role to another mailbox already. */
  private async createTarget(newUser: string, mailbox: MailboxInfo): Promise<MailboxInfo> {
    const { mailboxes } = this.deps;
    if (!mailbox.role) return mailboxes.createMailbox(newUser, mailbox.name);
    try {
      return await mailboxes.createMailbox(newUser, mailbox.name, { role: mailbox.role });
    } catch (err) {
      if (!(err instanceof MailboxRoleTakenError)) throw err;
      this.deps.logger.info({ newUser, mailbox: mailbox.name, role: mailbox.role }, 'the new user holds this role already: mailbox moved without it');
      return mailboxes.createMailbox(newUser, mailbox.name);
    }
  }

  /** Rights the old user held on other users' mailboxes go to the new user. */
  private async acls(oldUser: string, newUser: string): Promise<void> {
    const { mailboxes } = this.deps;
    for (const shared of await mailboxes.listAccessibleMailboxes(oldUser)) {
      const { owner, name } = shared.mailbox;
      if (owner === oldUser) continue;
      const acl = await mailboxes.getAcl(owner, { owner, name });
      const rights = acl[oldUser];
      if (rights === undefined) continue;
      if (owner !== newUser) await mailboxes.setRights(owner, { owner, name }, newUser, rights, 'add');
      await mailboxes.setRights(owner, { owner, name }, oldUser, '', 'replace');
    }
  }
}

/** Steps of James' DeleteUserDataTask, in the order they run. */
export const DELETE_USER_DATA_STEPS = ['RecipientRewriteTableUserDeletionTaskStep', 'DelegationUserDeletionTaskStep', 'MailboxUserDeletionTaskStep', 'VacationUserDeletionTaskStep'] as const;

export function isDeleteUserDataStep(name: string): boolean {
  return (DELETE_USER_DATA_STEPS as readonly string[]).includes(name);
}

/** Deletes the data of a user (not the account): mappings from and to it, delegations, mailboxes. Idempotent steps. */
export class UserDataDeletion {
  constructor(
    private readonly deps: {
      rrt: RecipientRewriteTable;
      delegations: DelegationStore;
      mailboxes: MailboxManager;
      vacation?: VacationStore;
      logger: Logger;
    },
  ) {}

  async run(step: string, user: string): Promise<void> {
    const { rrt, delegations, mailboxes } = this.deps;
    switch (step) {
      case 'RecipientRewriteTableUserDeletionTaskStep':
        for (const mapping of await rrt.getStoredMappings(user)) await rrt.removeMapping(user, mapping.type, mapping.value);
        for (const type of ['Forward', 'Alias', 'Group'] as const) {
          for (const source of await rrt.listSources(type, user)) await rrt.removeMapping(source, type, user);
        }
        return;
      case 'DelegationUserDeletionTaskStep':
        await delegations.clear(user);
        for (const base of await delegations.delegatedUsers(user)) await delegations.removeAuthorizedUser(base, user);
        return;
      case 'MailboxUserDeletionTaskStep': {
        const owned = (await mailboxes.listMailboxes(user)).sort((a, b) => b.name.length - a.name.length);
        for (const mailbox of owned) {
          if (mailbox.name.toUpperCase() === 'INBOX') {
            if (mailbox.messageCount > 0) {
              await mailboxes.updateFlags(user, mailbox.id, [ALL_UIDS], { mode: 'add', flags: ['\\Deleted'] });
              await mailboxes.expunge(user, mailbox.id);
            }
            continue;
          }
          await mailboxes.deleteMailbox(user, mailbox.name);
        }
        for (const name of await mailboxes.listSubscriptions(user)) await mailboxes.unsubscribe(user, name);
        this.deps.logger.info({ user, mailboxes: owned.length }, 'user data deleted');
        return;
      }
      case 'VacationUserDeletionTaskStep':
        if (this.deps.vacation && (await this.deps.vacation.getVacation(user)) !== null) {
          await this.deps.vacation.setVacation(user, { ...NO_VACATION });
          await this.deps.vacation.flushNotifications(user);
        }
        return;
      default:
        throw new InvalidInputError(`Unknown user data deletion step ${step}`);
    }
  }
}

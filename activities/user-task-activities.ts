import type { UserDataDeletion, UsernameChange } from '../src/users/username-change';
import { withFailureMapping } from './errors';

/** Steps of the user tasks (James `UsernameChangeTask`, `DeleteUserDataTask`): one activity per step. */
export function createUserTaskActivities(deps: { usernameChange: UsernameChange; userDataDeletion: UserDataDeletion }) {
  return {
    async runUsernameChangeStep(step: string, oldUser: string, newUser: string): Promise<void> {
      // A permanent error (a loop, a bad name) fails the step at once: retrying cannot help.
      await withFailureMapping(() => deps.usernameChange.run(step, oldUser, newUser));
    },

    async runDeleteUserDataStep(step: string, username: string): Promise<void> {
      await withFailureMapping(() => deps.userDataDeletion.run(step, username));
    },
  };
}

export type UserTaskActivities = ReturnType<typeof createUserTaskActivities>;

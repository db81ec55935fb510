import { describeRrtMailPath } from './rrt-mail-path.suite';

describeRrtMailPath('distributed');

import { describeMailPath } from './mail-path.suite';

describeMailPath('distributed');

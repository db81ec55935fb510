import { describeMailPath } from './mail-path.suite';

describeMailPath('embedded');

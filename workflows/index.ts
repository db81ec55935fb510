export { processMail, traceQuery } from './process-mail';

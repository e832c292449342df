export * from './latchkey-errors.ts';
export * from './protocol-errors.ts';
export { adminStatusOf, databaseUnavailable, exitStatusOf, isOutage, outageAsProtocolError, toProtocolError } from './error-mapping.ts';
export { isDatabaseUnavailable } from './database-outage.ts';

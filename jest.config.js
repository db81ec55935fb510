/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // Suites share real engines (one Temporal, one Cassandra keyspace per suite); keep it serial.
  maxWorkers: 1,
  testTimeout: 60_000,
};

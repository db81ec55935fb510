/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // ESM-only dependencies (cookie, via fastify's light-my-request) are transformed to CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(cookie)/)'],
  // Suites share real engines (one Temporal, one Cassandra keyspace per suite); keep it serial.
  maxWorkers: 1,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  testTimeout: 60_000,
};

// Jest reporter: prints the plain closing line "N passed, N failed" (read by CI) and writes
// the same counts to .test-summary.json for .ci/run.
'use strict';
const { writeFileSync } = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const summary = { passed: results.numPassedTests, failed, skipped: results.numPendingTests + results.numTodoTests };
    writeFileSync(path.join(this.rootDir, '.test-summary.json'), JSON.stringify(summary));
    process.stdout.write(`\n${summary.passed} passed, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}\n`);
  }
}

module.exports = SummaryReporter;

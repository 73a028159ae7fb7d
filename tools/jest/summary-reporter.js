// Prints one plain closing line that CI and people can read at a glance:
//   "Tests: N passed, N failed, N skipped"
// plus the lines collected in `notRun` (suites that could not run here, and why).
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests, numFailedTestSuites, numRuntimeErrorTestSuites } = results;
    const notRun = (globalThis.__SVP_NOT_RUN__ ?? []).concat((process.env.SVP_NOT_RUN ?? '').split('\n').filter(Boolean));
    for (const line of new Set(notRun)) process.stdout.write(`${line}\n`);
    if (numFailedTestSuites > 0 || numRuntimeErrorTestSuites > 0)
      process.stdout.write(`Test suites failed to run or failed: ${numFailedTestSuites}\n`);
    process.stdout.write(`Tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped\n`);
  }
}

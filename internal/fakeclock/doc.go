// Package fakeclock is a manual clock for tests of timer-driven code
// (keepalive schedules, reconnect backoff): time moves only when the test
// calls Advance, and the test can wait for each timer the code under test
// creates, so schedules are asserted exactly and without real sleeps.
package fakeclock

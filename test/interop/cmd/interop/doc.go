// Command interop runs tether against WebSocket implementations that
// nobody here wrote, in both directions: Node.js ws, Python websockets
// (clients and servers) and headless Chromium (a client, on a page served
// by tether). It prints one row per check and ends with "N passed, M
// failed"; the exit status is 1 when a check failed.
//
// Run it from the repository root after test/interop/install.sh (make
// interop does both):
//
//	go run ./test/interop/cmd/interop [-peers node,python,chromium] [-v]
package main

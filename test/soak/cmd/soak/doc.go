// Command soak is tether's load test (package soak): 10,000 client
// connections by default, each sending 100 sequence-numbered messages
// with 8 in flight through a tether Server with compression on that
// echoes them, then Server.Shutdown while every client pipelines. It
// prints a report, then the same report as one line of JSON, and exits
// with status 1 when a message was lost, duplicated, reordered or
// corrupted, a connection ended with 1011 before Shutdown, a connection
// did not open, or the steady phase did not finish within -duration;
// status 2 when the run could not take place.
//
//	make soak                                  # full size
//	make soak SOAK_ARGS='-window 1 -size 1024'
//	make soak-small                            # 500 × 20, for CI
//	go run ./test/soak/cmd/soak -conns 2000 -compression=false
//
// The server runs in a child process (this executable again), so that
// its CPU time and peak resident memory are its own and each process
// holds one file descriptor per connection.
package main

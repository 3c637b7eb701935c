// Package hubtest runs server instances for the tests of package hub and
// its brokers: a tether Server on 127.0.0.1:0 whose handler subscribes
// each connection to the topics named in its URL, so that a test can join
// clients to topics and check what they receive. It depends only on
// runtime, so that hub's own tests can use it.
package hubtest

// Package hist records latencies in a histogram of bounded memory, in the
// manner of HdrHistogram: buckets are exact below 512 ns and then 256 per
// power of two, so every recorded value is known to within 0.4%, from
// 1 ns to 2^40 ns (about 18 minutes; longer values count as that).
//
// A Histogram takes records from many goroutines at once without a lock;
// a Snapshot is a copy to compute quantiles on, and the difference of two
// snapshots describes the interval between them.
package hist

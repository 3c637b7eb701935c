//go:build !linux

package main

import "time"

const clockName = "times are wall-clock time"

var epoch = time.Now()

func clock() time.Duration { return time.Since(epoch) }

// Package bench compares Herd's authorization check with a plain Go map
// and with Casbin, on the same access model at the same sizes, in one run.
// It is its own module so that Herd never depends on Casbin. See
// BENCHMARKS.md at the repository root for the figures and the commands.
package bench

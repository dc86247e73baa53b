// Package readme holds no code: its test checks that the Go samples of the
// repository's README.md compile, pass go vet and run, as a user would paste
// them.
package readme

package etcdstore

// SetPageSize sets how many keys a range read of Load returns, and
// returns a function that restores it.
func SetPageSize(n int64) (restore func()) {
	old := pageSize
	pageSize = n
	return func() { pageSize = old }
}

package controller

import "slices"

// Addrs returns the controller's API endpoints ("host:port"), as written
// into registration tokens: the API server lists them to clients in
// Admin.Login's "servers". The slice is a fresh copy.
func (c *Controller) Addrs() []string { return slices.Clone(c.opts.Addrs) }

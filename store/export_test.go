package store

// CheckBolt is checkBolt, for the tests of hostile files.
var CheckBolt = checkBolt

//go:build race

package collector

// raceEnabled shrinks the heaviest tests under -race, where hashing and
// inflating hundreds of MiB is ten times slower; the default-size runs
// happen without -race.
const raceEnabled = true

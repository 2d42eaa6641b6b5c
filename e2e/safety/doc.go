// Package safety holds the lab suites of data safety and isolation: fed-controller never
// deletes or changes a member object it did not write for that very registration, keeps the
// members' replicas when asked to, removes what it no longer renders, and lets no member stall
// the others, even when it is killed midway.
package safety

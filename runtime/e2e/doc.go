// Package e2e holds end-to-end tests of whole calls: a real server on a real
// socket, real speech (espeak-ng) recognised by PocketSphinx, the flow engine,
// and a scripted caller that measures what happens on the wire.
package e2e

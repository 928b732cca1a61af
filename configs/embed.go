// Package configs embeds the agent configs that ship with Parley, so `parley demo`
// and `parley serve` without arguments run on them with no files around.
package configs

import "embed"

// FS holds every *.yaml file of this folder.
//
//go:embed *.yaml
var FS embed.FS

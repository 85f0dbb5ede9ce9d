// Package scoringrules holds the rule sets shipped with laborcredit, as
// YAML data files with their test cases, embedded in the binary.
package scoringrules

import "embed"

// FS holds every rule set (*.yaml) and its cases (*_test.yaml).
//
//go:embed *.yaml
var FS embed.FS

// Package policies embeds the default Casbin model and policy files. The
// running server reads them from CRM_POLICY_DIR instead when it is set.
package policies

import "embed"

// FS holds model.conf and every *.csv policy file.
//
//go:embed model.conf *.csv
var FS embed.FS

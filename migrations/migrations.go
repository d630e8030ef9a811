// Package migrations embeds the one ordered timeline of schema migrations.
// Each module owns a folder (postgres/ and sqlite/ beside each other, since
// the SQL differs); file names are timestamps, so the folders merge into one
// order. Migrations are read from the binary, never from the source tree.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed */postgres/*.sql */sqlite/*.sql
var files embed.FS

// For returns the migrations folder of one module.
func For(module string) fs.FS {
	sub, err := fs.Sub(files, module)
	if err != nil {
		panic(err)
	}
	return sub
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"crm/platform/boot"
	"crm/platform/httpx"

	"go.uber.org/fx"
)

// printOpenAPI writes the OpenAPI document of the real app (every module's
// routes) without serving: for redocly lint in CI, Postman and Insomnia. It
// builds the app on a throwaway SQLite database, so it needs no
// configuration and touches no data.
func printOpenAPI(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	asYAML := fs.Bool("yaml", false, "write YAML instead of JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("usage: crm openapi [--yaml]")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "crm-openapi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DatabaseURL, cfg.DBOwnerURL = "sqlite:"+filepath.Join(dir, "crm.db"), ""
	cfg.LogLevel = "error"
	var s *httpx.Server
	if _, err := newApp(cfg, boot.Command, fx.Populate(&s)); err != nil {
		return err
	}
	defer s.DB().Close()
	spec := s.API.OpenAPI()
	var b []byte
	if *asYAML {
		b, err = spec.YAML()
	} else {
		var raw []byte
		if raw, err = spec.MarshalJSON(); err == nil {
			var out bytes.Buffer
			err = json.Indent(&out, raw, "", "  ")
			b = out.Bytes()
		}
	}
	if err != nil {
		return fmt.Errorf("openapi: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

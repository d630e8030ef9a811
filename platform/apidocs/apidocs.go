// Package apidocs serves the API's documentation page at GET /api/docs:
// Swagger UI on the OpenAPI document huma publishes at /api/openapi.json,
// with every script and style embedded in the binary and served from
// /api/docs/assets/, so the page works on a closed network. A Content
// Security Policy forbids the page to load anything from another origin.
//
// The routes are plain Fiber routes, outside the OpenAPI document.
package apidocs

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"go.uber.org/fx"
)

// Paths of the page and its assets.
const (
	Path       = "/api/docs"
	AssetsPath = "/api/docs/assets"
)

// SwaggerUIVersion is the vendored swagger-ui-dist (see assets/README.md).
const SwaggerUIVersion = "5.35.0"

//go:embed assets
var embedded embed.FS

// Assets are the page's files.
var Assets, _ = fs.Sub(embedded, "assets")

// csp lets the page load and call only its own origin. Swagger UI sets
// inline styles and draws some icons as data: URLs.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Module adds the page to the Fiber app.
var Module = fx.Module("apidocs",
	fx.Provide(fx.Annotate(func() func(*fiber.App) { return Register }, fx.ResultTags(`group:"http_setup"`))),
)

// Register adds GET /api/docs and its assets to app.
func Register(app *fiber.App) {
	page, err := fs.ReadFile(Assets, "index.html")
	if err != nil {
		panic("apidocs: index.html is not embedded: " + err.Error())
	}
	app.Use(Path, compress.New())
	app.Get(Path, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, csp)
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Type("html", "utf-8")
		return c.Status(http.StatusOK).Send(page)
	})
	app.Use(AssetsPath, filesystem.New(filesystem.Config{
		Root:   http.FS(Assets),
		MaxAge: 3600,
	}))
}

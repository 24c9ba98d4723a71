package cli

import (
	"runtime/debug"

	"github.com/spf13/cobra"
)

// VersionInfo is what `tessera version` prints: which build this is, read
// from the build information the Go toolchain stamps into every binary
// (the module version for `go install …@vX`, the VCS revision for a build
// in a git checkout), so that an operator can name exactly what runs.
type VersionInfo struct {
	Version string `json:"tessera"`
	// Revision is the commit the binary was built from, RevisionTime its
	// commit time; Modified says the work tree had uncommitted changes.
	Revision     string `json:"revision,omitempty"`
	RevisionTime string `json:"revisionTime,omitempty"`
	Modified     bool   `json:"modified,omitempty"`
	Go           string `json:"go"`
}

// describeBuild reads bi. override is the version set with -ldflags
// (Version), which wins over the module's when it is set: a release
// pipeline names its release. A build from a checkout has no module
// version ("(devel)"), and then the version says so.
func describeBuild(bi *debug.BuildInfo, override string) VersionInfo {
	if bi == nil {
		bi = &debug.BuildInfo{}
	}
	v := VersionInfo{Version: "devel", Go: bi.GoVersion}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		v.Version = mv
	}
	if override != "" && override != "dev" {
		v.Version = override
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.RevisionTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one line of `tessera --version`.
func (v VersionInfo) String() string {
	s := v.Version
	if v.Revision != "" {
		rev := v.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " (" + rev
		if v.Modified {
			s += ", modified"
		}
		s += ")"
	}
	if v.Go != "" {
		s += " " + v.Go
	}
	return s
}

func buildVersion() VersionInfo {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(bi, Version)
}

func newVersionCmd() *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the version, the revision it was built from, and the Go release",
		Example: `  tessera version
  tessera version --query revision -o tsv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return out.print(cmd.OutOrStdout(), buildVersion())
		},
	}
	out.addFlags(cmd)
	return cmd
}

// versionTemplate is --version's output: "tessera <version> (<revision>) <go>".
const versionTemplate = `{{.Name}} {{.Version}}
`

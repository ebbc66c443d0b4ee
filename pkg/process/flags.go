package process

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cloudevents-conductor/conductor/pkg/version"
)

// ErrExit is returned by ParseFlags when the invocation was fully answered (--help, --version)
// and the process should exit with status 0.
var ErrExit = errors.New("nothing more to do")

// ParseFlags parses args into fs after registering --version and --config. A config file is a
// YAML map from flag name to value; values given on the command line win over the file, so
// operators can keep defaults in a ConfigMap and override one flag in the Deployment.
func ParseFlags(fs *flag.FlagSet, args []string, component string, out io.Writer) error {
	showVersion := fs.Bool("version", false, "print the version and exit")
	configFile := fs.String("config", "", "optional YAML file mapping flag names to values; command-line flags override it")
	fs.SetOutput(out)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ErrExit
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *showVersion {
		fmt.Fprintln(out, version.String(component))
		return ErrExit
	}
	if *configFile == "" {
		return nil
	}
	return applyConfigFile(fs, *configFile)
}

func applyConfigFile(fs *flag.FlagSet, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	values := map[string]any{}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		return fmt.Errorf("parsing config file %s: %w", path, err)
	}
	setOnCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setOnCommandLine[f.Name] = true })
	for name, value := range values {
		if fs.Lookup(name) == nil {
			return fmt.Errorf("config file %s: unknown setting %q", path, name)
		}
		if setOnCommandLine[name] {
			continue
		}
		if err := fs.Set(name, configValue(value)); err != nil {
			return fmt.Errorf("config file %s: setting %q: %w", path, name, err)
		}
	}
	return nil
}

// configValue renders a YAML scalar or list the way the flag would be written on a command line.
func configValue(v any) string {
	switch t := v.(type) {
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprintf("%d", int64(t))
		}
	}
	return fmt.Sprint(v)
}

// ReadSecretFile returns the trimmed content of a secret file (a mounted Secret key), so that
// passwords and tokens never need to appear in flags or process listings.
func ReadSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// Main runs a binary's run function with the command-line arguments and exits: 0 when it
// returns nil or ErrExit (--help, --version), 1 with the error on stderr otherwise.
func Main(component string, run func(args []string, out io.Writer) error) {
	err := run(os.Args[1:], os.Stdout)
	if err == nil || errors.Is(err, ErrExit) {
		return
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", component, err)
	os.Exit(1)
}

package consumer

import (
	"maps"
	"strings"
)

// LabelFilter selects the ManagedCluster labels copied to its Maestro consumer: those whose
// key starts with one of Prefixes, or all of them when Prefixes is empty.
type LabelFilter struct {
	Prefixes []string
}

// Apply returns the selected labels; never nil, so "no labels" compares equal to an empty map.
func (f LabelFilter) Apply(labels map[string]string) map[string]string {
	selected := make(map[string]string, len(labels))
	for key, value := range labels {
		if f.selects(key) {
			selected[key] = value
		}
	}
	return selected
}

func (f LabelFilter) selects(key string) bool {
	if len(f.Prefixes) == 0 {
		return true
	}
	for _, prefix := range f.Prefixes {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}

// sameLabels treats nil and empty as equal, as Maestro does (it stores no labels as NULL).
func sameLabels(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}

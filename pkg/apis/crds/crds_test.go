package crds_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/cloudevents-conductor/conductor/pkg/apis/crds"
)

// referenceFiles maps each CRD we generate to the upstream CRD it must stay compatible with.
var referenceFiles = map[string]string{
	"managedclusters.cluster.open-cluster-management.io":    "0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml",
	"manifestworks.work.open-cluster-management.io":         "0000_00_work.open-cluster-management.io_manifestworks.crd.yaml",
	"managedclusteraddons.addon.open-cluster-management.io": "0000_01_addon.open-cluster-management.io_managedclusteraddons.crd.yaml",
}

// usedFields are the schema paths, per CRD and version, that the conductor's services read or
// write; the API server would prune any of them that the schema lacks.
var usedFields = map[string]map[string][]string{
	"managedclusters.cluster.open-cluster-management.io": {"v1": {
		".spec.hubAcceptsClient", ".spec.leaseDurationSeconds", ".spec.managedClusterClientConfigs[].url",
		".spec.managedClusterClientConfigs[].caBundle", ".spec.taints[].key",
		".status.conditions[].type", ".status.conditions[].status", ".status.version.kubernetes",
		".status.clusterClaims[].name", ".status.capacity", ".status.allocatable",
	}},
	"manifestworks.work.open-cluster-management.io": {"v1": {
		".spec.workload.manifests", ".spec.deleteOption.propagationPolicy", ".spec.manifestConfigs[].resourceIdentifier.name",
		".spec.manifestConfigs[].feedbackRules[].jsonPaths[].path", ".spec.manifestConfigs[].updateStrategy.serverSideApply.force",
		".spec.executor.subject.serviceAccount.name", ".status.conditions[].type",
		".status.resourceStatus.manifests[].resourceMeta.ordinal",
		".status.resourceStatus.manifests[].statusFeedback.values[].fieldValue.integer",
		".status.resourceStatus.manifests[].statusFeedback.values[].fieldValue.jsonRaw",
		".status.resourceStatus.manifests[].conditions[].type",
	}},
	"managedclusteraddons.addon.open-cluster-management.io": {
		"v1alpha1": {
			".spec.installNamespace", ".spec.configs[].name", ".status.conditions[].type", ".status.namespace",
			".status.registrations[].signerName", ".status.healthCheck.mode", ".status.kubeClientDriver",
		},
		"v1beta1": {
			".spec.configs[].name", ".status.conditions[].type", ".status.namespace",
			".status.registrations[].type", ".status.registrations[].kubeClient.driver",
			".status.registrations[].customSigner.signerName", ".status.healthCheck.mode",
		},
	},
}

func TestCRDsMatchUpstreamResources(t *testing.T) {
	ours := generatedCRDs(t)
	if len(ours) != len(referenceFiles) {
		t.Fatalf("got %d CRDs, want %d", len(ours), len(referenceFiles))
	}
	for name, file := range referenceFiles {
		t.Run(name, func(t *testing.T) {
			crd, ok := ours[name]
			if !ok {
				t.Fatalf("no generated CRD %s", name)
			}
			ref := referenceCRD(t, file)
			if crd.Spec.Group != ref.Spec.Group || crd.Spec.Scope != ref.Spec.Scope {
				t.Errorf("group/scope = %s/%s, want %s/%s", crd.Spec.Group, crd.Spec.Scope, ref.Spec.Group, ref.Spec.Scope)
			}
			if !reflect.DeepEqual(crd.Spec.Names, ref.Spec.Names) {
				t.Errorf("names = %+v, want %+v", crd.Spec.Names, ref.Spec.Names)
			}
			if c := crd.Spec.Conversion; c != nil && c.Strategy != apiextensionsv1.NoneConverter {
				t.Errorf("conversion strategy = %s, want None like upstream", c.Strategy)
			}
			if got, want := versionSummary(crd), versionSummary(ref); !reflect.DeepEqual(got, want) {
				t.Errorf("versions = %v, want %v", got, want)
			}
		})
	}
}

func TestCRDSchemasAreCompatibleWithUpstream(t *testing.T) {
	ours := generatedCRDs(t)
	for name, file := range referenceFiles {
		ref := referenceCRD(t, file)
		for _, refVersion := range ref.Spec.Versions {
			t.Run(name+"/"+refVersion.Name, func(t *testing.T) {
				version := findVersion(t, ours[name], refVersion.Name)
				got := schemaFields(version.Schema.OpenAPIV3Schema)
				want := schemaFields(refVersion.Schema.OpenAPIV3Schema)
				for path, field := range got {
					refField, ok := want[path]
					switch {
					case !ok:
						t.Errorf("%s: not in the upstream schema", path)
					case field.fieldConstraints != refField.fieldConstraints:
						t.Errorf("%s: %+v, upstream %+v", path, field.fieldConstraints, refField.fieldConstraints)
					case !slices.Equal(field.required, refField.requiredAmong(field.properties)):
						t.Errorf("%s: required %v, upstream %v", path, field.required, refField.required)
					}
				}
				for _, path := range usedFields[name][refVersion.Name] {
					if _, ok := got[path]; !ok {
						t.Errorf("%s: used by the services but missing from the schema", path)
					}
				}
			})
		}
	}
}

func TestCRDsReturnsFreshObjects(t *testing.T) {
	first, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	first[0].Name = "changed"
	second, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	if second[0].Name == "changed" {
		t.Fatal("a change to one result leaked into the next call")
	}
}

func generatedCRDs(t *testing.T) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	list, err := crds.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	byName := make(map[string]*apiextensionsv1.CustomResourceDefinition, len(list))
	for _, crd := range list {
		byName[crd.Name] = crd
	}
	return byName
}

func referenceCRD(t *testing.T, file string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "crds", file))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	return crd
}

func findVersion(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition, name string) apiextensionsv1.CustomResourceDefinitionVersion {
	t.Helper()
	for _, v := range crd.Spec.Versions {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("%s has no version %s", crd.Name, name)
	return apiextensionsv1.CustomResourceDefinitionVersion{}
}

// versionSummary is what clients notice of each version: whether it is served and stored, whether
// it has a status subresource, and what kubectl prints.
func versionSummary(crd *apiextensionsv1.CustomResourceDefinition) map[string]string {
	summary := map[string]string{}
	for _, v := range crd.Spec.Versions {
		var columns []string
		for _, c := range v.AdditionalPrinterColumns {
			columns = append(columns, c.Name+"="+c.JSONPath+":"+c.Type)
		}
		hasStatus := v.Subresources != nil && v.Subresources.Status != nil
		summary[v.Name] = strings.Join([]string{
			"served=" + boolString(v.Served), "storage=" + boolString(v.Storage),
			"status=" + boolString(hasStatus), "columns=" + strings.Join(columns, ","),
		}, " ")
	}
	return summary
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// schemaField is what one schema node accepts, flattened so two schemas compare path by path.
type schemaField struct {
	fieldConstraints
	required, properties []string
}

// fieldConstraints are the facts of a schema node that must agree with upstream.
type fieldConstraints struct {
	typ, format, listType, listMapKeys, enum, defaultValue, pattern string
	preserveUnknown, embedded, intOrString, nullable                bool
}

// requiredAmong is the upstream required list cut down to the properties we model.
func (f schemaField) requiredAmong(properties []string) []string {
	var required []string
	for _, r := range f.required {
		if slices.Contains(properties, r) {
			required = append(required, r)
		}
	}
	return required
}

func schemaFields(root *apiextensionsv1.JSONSchemaProps) map[string]schemaField {
	fields := map[string]schemaField{}
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		field := schemaField{
			fieldConstraints: fieldConstraints{
				typ: s.Type, format: s.Format, pattern: s.Pattern, nullable: s.Nullable,
				intOrString: s.XIntOrString, embedded: s.XEmbeddedResource,
				preserveUnknown: s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields,
			},
			required: slices.Sorted(slices.Values(s.Required)),
		}
		if s.XListType != nil {
			field.listType = *s.XListType
		}
		field.listMapKeys = strings.Join(s.XListMapKeys, ",")
		for _, e := range s.Enum {
			field.enum += string(e.Raw) + ";"
		}
		if s.Default != nil {
			field.defaultValue = string(s.Default.Raw)
		}
		for name := range s.Properties {
			field.properties = append(field.properties, name)
		}
		fields[path] = field
		for name, p := range s.Properties {
			walk(path+"."+name, &p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(path+"[]", s.Items.Schema)
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			walk(path+"{}", s.AdditionalProperties.Schema)
		}
	}
	walk("", root)
	return fields
}
